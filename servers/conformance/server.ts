/**
 * The MCP server behind the official conformance suite's server scenarios
 * (`npm:@modelcontextprotocol/conformance@0.1.16`): the tools, resources and prompts those
 * scenarios call, with the exact names and payloads they check.
 *
 * @module
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  type GetPromptRequest,
  GetPromptRequestSchema,
  type GetPromptResult,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type ReadResourceRequest,
  ReadResourceRequestSchema,
  type ReadResourceResult,
  type ServerNotification,
  type ServerRequest,
  type SetLevelRequest,
  SetLevelRequestSchema,
  type SubscribeRequest,
  SubscribeRequestSchema,
  type Tool,
  type UnsubscribeRequest,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

/** A 1×1 red PNG, base64. */
const IMAGE =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/** A minimal WAV file, base64. */
const AUDIO = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

const EMPTY_OBJECT_SCHEMA = { type: "object", properties: {} } as const;

const TOOLS: Tool[] = [
  {
    name: "test_simple_text",
    description: "Tests simple text content response",
    inputSchema: EMPTY_OBJECT_SCHEMA,
  },
  {
    name: "test_image_content",
    description: "Tests image content response",
    inputSchema: EMPTY_OBJECT_SCHEMA,
  },
  {
    name: "test_audio_content",
    description: "Tests audio content response",
    inputSchema: EMPTY_OBJECT_SCHEMA,
  },
  {
    name: "test_embedded_resource",
    description: "Tests embedded resource content response",
    inputSchema: EMPTY_OBJECT_SCHEMA,
  },
  {
    name: "test_multiple_content_types",
    description: "Tests response with multiple content types (text, image, resource)",
    inputSchema: EMPTY_OBJECT_SCHEMA,
  },
  {
    name: "test_tool_with_logging",
    description: "Tests tool that emits log messages during execution",
    inputSchema: EMPTY_OBJECT_SCHEMA,
  },
  {
    name: "test_tool_with_progress",
    description: "Tests tool that reports progress notifications",
    inputSchema: EMPTY_OBJECT_SCHEMA,
  },
  {
    name: "test_error_handling",
    description: "Tests error response handling",
    inputSchema: EMPTY_OBJECT_SCHEMA,
  },
  {
    name: "test_reconnection",
    description:
      "Tests SSE stream disconnection and client reconnection (SEP-1699). Over HTTP the " +
      "server closes the stream mid-call and sends the result after the client reconnects.",
    inputSchema: EMPTY_OBJECT_SCHEMA,
  },
  {
    name: "test_sampling",
    description: "Tests server-initiated sampling (LLM completion request)",
    inputSchema: {
      type: "object",
      properties: {
        prompt: {
          type: "string",
          description: "The prompt to send to the LLM",
        },
      },
      required: ["prompt"],
    },
  },
  {
    name: "test_elicitation",
    description: "Tests server-initiated elicitation (user input request)",
    inputSchema: {
      type: "object",
      properties: {
        message: {
          type: "string",
          description: "The message to show the user",
        },
      },
      required: ["message"],
    },
  },
  {
    name: "test_elicitation_sep1034_defaults",
    description: "Tests elicitation with default values per SEP-1034",
    inputSchema: EMPTY_OBJECT_SCHEMA,
  },
  {
    name: "test_elicitation_sep1330_enums",
    description: "Tests elicitation with enum schema improvements per SEP-1330",
    inputSchema: EMPTY_OBJECT_SCHEMA,
  },
  {
    name: "json_schema_2020_12_tool",
    description: "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
    inputSchema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      $defs: {
        address: {
          type: "object",
          properties: { street: { type: "string" }, city: { type: "string" } },
        },
      },
      properties: {
        name: { type: "string" },
        address: { $ref: "#/$defs/address" },
      },
      additionalProperties: false,
    },
  },
];

const SEP1034_SCHEMA = {
  type: "object",
  properties: {
    name: { type: "string", description: "User name", default: "John Doe" },
    age: { type: "integer", description: "User age", default: 30 },
    score: { type: "number", description: "User score", default: 95.5 },
    status: {
      type: "string",
      description: "User status",
      enum: ["active", "inactive", "pending"],
      default: "active",
    },
    verified: {
      type: "boolean",
      description: "Verification status",
      default: true,
    },
  },
  required: [],
};

const SEP1330_SCHEMA = {
  type: "object",
  properties: {
    untitledSingle: {
      type: "string",
      description: "Select one option",
      enum: ["option1", "option2", "option3"],
    },
    titledSingle: {
      type: "string",
      description: "Select one option with titles",
      oneOf: [
        { const: "value1", title: "First Option" },
        { const: "value2", title: "Second Option" },
        { const: "value3", title: "Third Option" },
      ],
    },
    legacyEnum: {
      type: "string",
      description: "Select one option (legacy)",
      enum: ["opt1", "opt2", "opt3"],
      enumNames: ["Option One", "Option Two", "Option Three"],
    },
    untitledMulti: {
      type: "array",
      description: "Select multiple options",
      minItems: 1,
      maxItems: 3,
      items: { type: "string", enum: ["option1", "option2", "option3"] },
    },
    titledMulti: {
      type: "array",
      description: "Select multiple options with titles",
      minItems: 1,
      maxItems: 3,
      items: {
        anyOf: [
          { const: "value1", title: "First Choice" },
          { const: "value2", title: "Second Choice" },
          { const: "value3", title: "Third Choice" },
        ],
      },
    },
  },
  required: [],
};

const RESOURCES = [
  {
    uri: "test://static-text",
    name: "static-text",
    title: "Static Text Resource",
    description: "A static text resource for testing",
    mimeType: "text/plain",
  },
  {
    uri: "test://static-binary",
    name: "static-binary",
    title: "Static Binary Resource",
    description: "A static binary resource (image) for testing",
    mimeType: "image/png",
  },
  {
    uri: "test://watched-resource",
    name: "watched-resource",
    title: "Watched Resource",
    description: "A resource clients can subscribe to",
    mimeType: "text/plain",
  },
];

const PROMPTS = [
  {
    name: "test_simple_prompt",
    title: "Simple Test Prompt",
    description: "A simple prompt without arguments",
  },
  {
    name: "test_prompt_with_arguments",
    title: "Prompt With Arguments",
    description: "A prompt with required arguments",
    arguments: [
      { name: "arg1", description: "First test argument", required: true },
      { name: "arg2", description: "Second test argument", required: true },
    ],
  },
  {
    name: "test_prompt_with_embedded_resource",
    title: "Prompt With Embedded Resource",
    description: "A prompt that includes an embedded resource",
    arguments: [{
      name: "resourceUri",
      description: "URI of the resource to embed",
      required: true,
    }],
  },
  {
    name: "test_prompt_with_image",
    title: "Prompt With Image",
    description: "A prompt that includes image content",
  },
];

/** Options for {@linkcode createConformanceServer}. */
export interface CreateConformanceServerOptions {
  /** Milliseconds between the steps of the logging and progress tools. Default 50. */
  stepDelayMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function text(value: string): CallToolResult {
  return { content: [{ type: "text", text: value }] };
}

/**
 * Creates an MCP server (not yet connected) that implements every fixture of the conformance
 * suite's server scenarios: the `test_*` tools, the `test://` resources and the `test_*` prompts,
 * logging, completion and resource subscriptions.
 *
 * Over HTTP, `test_reconnection` closes its own SSE stream mid-call (SEP-1699) when the
 * transport offers that; over stdio it simply answers.
 *
 * @param options Step delay for the logging and progress tools.
 * @returns A low-level SDK `Server`; connect it to any transport.
 * @example
 * ```ts ignore
 * import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
 * await createConformanceServer().connect(new StdioServerTransport());
 * ```
 */
export function createConformanceServer(
  options: CreateConformanceServerOptions = {},
): Server {
  const stepDelayMs = options.stepDelayMs ?? 50;
  const subscriptions = new Set<string>();
  const server = new Server(
    { name: "mcp-conformance-test-server", version: "0.1.0" },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
    },
  );

  const log = (data: string): void => {
    server.sendLoggingMessage({
      level: "info",
      logger: "conformance-test-server",
      data,
    })
      .catch(() => {});
  };

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));

  server.setRequestHandler(
    CallToolRequestSchema,
    async (request: CallToolRequest, extra: Extra): Promise<CallToolResult> => {
      const args = request.params.arguments ?? {};
      switch (request.params.name) {
        case "test_simple_text":
          return text("This is a simple text response for testing.");
        case "test_image_content":
          return {
            content: [{ type: "image", data: IMAGE, mimeType: "image/png" }],
          };
        case "test_audio_content":
          return {
            content: [{ type: "audio", data: AUDIO, mimeType: "audio/wav" }],
          };
        case "test_embedded_resource":
          return {
            content: [{
              type: "resource",
              resource: {
                uri: "test://embedded-resource",
                mimeType: "text/plain",
                text: "This is an embedded resource content.",
              },
            }],
          };
        case "test_multiple_content_types":
          return {
            content: [
              { type: "text", text: "Multiple content types test:" },
              { type: "image", data: IMAGE, mimeType: "image/png" },
              {
                type: "resource",
                resource: {
                  uri: "test://mixed-content-resource",
                  mimeType: "application/json",
                  text: JSON.stringify({ test: "data", value: 123 }),
                },
              },
            ],
          };
        case "test_tool_with_logging": {
          const steps = [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
          ];
          for (const [index, data] of steps.entries()) {
            if (index > 0) await sleep(stepDelayMs);
            await extra.sendNotification({
              method: "notifications/message",
              params: { level: "info", data },
            });
          }
          return text("Tool with logging executed successfully");
        }
        case "test_tool_with_progress": {
          const progressToken = extra._meta?.progressToken ?? 0;
          for (const [index, progress] of [0, 50, 100].entries()) {
            if (index > 0) await sleep(stepDelayMs);
            await extra.sendNotification({
              method: "notifications/progress",
              params: {
                progressToken,
                progress,
                total: 100,
                message: `Completed step ${progress} of 100`,
              },
            });
          }
          return text(String(progressToken));
        }
        case "test_error_handling":
          return {
            isError: true,
            content: [{
              type: "text",
              text: "This tool intentionally returns an error for testing",
            }],
          };
        case "test_reconnection":
          extra.closeSSEStream?.();
          await sleep(100);
          return text(
            "Reconnection test completed successfully. If you received this, the client properly " +
              "reconnected after stream closure.",
          );
        case "test_sampling": {
          try {
            const result = await extra.sendRequest({
              method: "sampling/createMessage",
              params: {
                messages: [{
                  role: "user",
                  content: { type: "text", text: String(args.prompt) },
                }],
                maxTokens: 100,
              },
            }, CreateMessageResultSchema);
            const content = result.content as { text?: string };
            return text(`LLM response: ${content.text ?? "No response"}`);
          } catch (error) {
            return text(
              `Sampling not supported or error: ${(error as Error).message}`,
            );
          }
        }
        case "test_elicitation":
          return await elicit(extra.sendRequest, String(args.message), {
            type: "object",
            properties: {
              response: { type: "string", description: "User's response" },
            },
            required: ["response"],
          }, "User response");
        case "test_elicitation_sep1034_defaults":
          return await elicit(
            extra.sendRequest,
            "Please review and update the form fields with defaults",
            SEP1034_SCHEMA,
            "Elicitation completed",
          );
        case "test_elicitation_sep1330_enums":
          return await elicit(
            extra.sendRequest,
            "Please select options from the enum fields",
            SEP1330_SCHEMA,
            "Elicitation completed",
          );
        case "json_schema_2020_12_tool":
          return text(
            `JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`,
          );
        default:
          throw new McpError(
            ErrorCode.InvalidParams,
            `Unknown tool: ${request.params.name}`,
          );
      }
    },
  );

  server.setRequestHandler(
    ListResourcesRequestSchema,
    () => ({ resources: RESOURCES }),
  );
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [{
      uriTemplate: "test://template/{id}/data",
      name: "template",
      title: "Resource Template",
      description: "A resource template with parameter substitution",
      mimeType: "application/json",
    }],
  }));
  server.setRequestHandler(
    ReadResourceRequestSchema,
    (request: ReadResourceRequest): ReadResourceResult => {
      const uri = request.params.uri;
      switch (uri) {
        case "test://static-text":
          return {
            contents: [{
              uri,
              mimeType: "text/plain",
              text: "This is the content of the static text resource.",
            }],
          };
        case "test://static-binary":
          return { contents: [{ uri, mimeType: "image/png", blob: IMAGE }] };
        case "test://watched-resource":
          return {
            contents: [{
              uri,
              mimeType: "text/plain",
              text: "Watched resource content",
            }],
          };
      }
      const match = /^test:\/\/template\/([^/]+)\/data$/.exec(uri);
      if (match) {
        const id = decodeURIComponent(match[1]);
        return {
          contents: [{
            uri,
            mimeType: "application/json",
            text: JSON.stringify({
              id,
              templateTest: true,
              data: `Data for ID: ${id}`,
            }),
          }],
        };
      }
      throw new McpError(-32002, `Resource not found: ${uri}`, { uri });
    },
  );
  server.setRequestHandler(
    SubscribeRequestSchema,
    (request: SubscribeRequest) => {
      subscriptions.add(request.params.uri);
      log(`Subscribed to resource: ${request.params.uri}`);
      return {};
    },
  );
  server.setRequestHandler(
    UnsubscribeRequestSchema,
    (request: UnsubscribeRequest) => {
      subscriptions.delete(request.params.uri);
      log(`Unsubscribed from resource: ${request.params.uri}`);
      return {};
    },
  );

  server.setRequestHandler(
    ListPromptsRequestSchema,
    () => ({ prompts: PROMPTS }),
  );
  server.setRequestHandler(
    GetPromptRequestSchema,
    (request: GetPromptRequest): GetPromptResult => {
      const args = request.params.arguments ?? {};
      switch (request.params.name) {
        case "test_simple_prompt":
          return {
            messages: [{
              role: "user",
              content: {
                type: "text",
                text: "This is a simple prompt for testing.",
              },
            }],
          };
        case "test_prompt_with_arguments":
          return {
            messages: [{
              role: "user",
              content: {
                type: "text",
                text: `Prompt with arguments: arg1='${args.arg1}', arg2='${args.arg2}'`,
              },
            }],
          };
        case "test_prompt_with_embedded_resource":
          return {
            messages: [
              {
                role: "user",
                content: {
                  type: "resource",
                  resource: {
                    uri: String(args.resourceUri),
                    mimeType: "text/plain",
                    text: "Embedded resource content for testing.",
                  },
                },
              },
              {
                role: "user",
                content: {
                  type: "text",
                  text: "Please process the embedded resource above.",
                },
              },
            ],
          };
        case "test_prompt_with_image":
          return {
            messages: [
              {
                role: "user",
                content: { type: "image", data: IMAGE, mimeType: "image/png" },
              },
              {
                role: "user",
                content: {
                  type: "text",
                  text: "Please analyze the image above.",
                },
              },
            ],
          };
        default:
          throw new McpError(
            ErrorCode.InvalidParams,
            `Unknown prompt: ${request.params.name}`,
          );
      }
    },
  );

  server.setRequestHandler(
    SetLevelRequestSchema,
    (request: SetLevelRequest) => {
      log(`Log level set to: ${request.params.level}`);
      return {};
    },
  );
  server.setRequestHandler(CompleteRequestSchema, () => ({
    completion: { values: [], total: 0, hasMore: false },
  }));
  return server;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

async function elicit(
  sendRequest: Extra["sendRequest"],
  message: string,
  requestedSchema: Record<string, unknown>,
  label: string,
): Promise<CallToolResult> {
  try {
    const result = await sendRequest(
      { method: "elicitation/create", params: { message, requestedSchema } },
      ElicitResultSchema,
    );
    return text(
      `${label}: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`,
    );
  } catch (error) {
    return text(
      `Elicitation not supported or error: ${(error as Error).message}`,
    );
  }
}
