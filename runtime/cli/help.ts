/**
 * The CLI's usage and per-command help texts.
 *
 * @module
 */
import { DENO_IMAGE } from "../sandbox/docker_names.ts";

/** The top-level usage text. */
export const USAGE = `mcp-run — run MCP servers with exactly the access their manifest declares

Usage:
  mcp-run run <server> [-p NAME=VALUE]… [--dry-run] [-- server args…]
                                   Start a server on stdio for an MCP client
  mcp-run pull <server> [-p …]     Cache its code and lockfile (no server code runs)
  mcp-run flags <server> [-p …]    Print the exact deno command it runs with
  mcp-run inspect <server> [-p …]  Start it, show its permissions and what it offers, stop it
  mcp-run call <server> <tool> [JSON arguments] [-p …]
                                   Start it, call one tool, print the result, stop it
  mcp-run approve <server> [-p …] [--diff] [--yes]
                                   Start it, show its tools, prompts and resource templates
                                   (or what changed since approved) and pin them
  mcp-run denials <server>         List what the server's last run was refused, and how to
                                   allow each (or why it never can be)
  mcp-run serve <server> [-p …] [--host 127.0.0.1] [--port 8808] [--auth oauth|token|none] …
                                   Serve it over MCP Streamable HTTP, one sandboxed process
                                   per session (mcp-run serve --set-passphrase: the owner's
                                   sign-in passphrase for --auth oauth)
  mcp-run tokens list [<server>] | revoke <server> <ID>|--all
                                   List the OAuth sign-ins of served servers (never a token
                                   value), or revoke them: a running serve refuses them at once
  mcp-run deploy <server> --target systemd|kubernetes|compose [-p …] [--out DIR] [serve options]
                                   Write a hardened service that serves it (systemd unit,
                                   Kubernetes manifests or compose file)
  mcp-run install <server> --client C [--scope user|project] [--form deno|launcher|docker] [-p …]
                                   Pull the server and add it to an MCP client's configuration
  mcp-run uninstall <entry> --client C [--scope user|project]
                                   Remove an entry mcp-run wrote from a client's configuration
  mcp-run config <server> [--client C] [--form deno|launcher|docker] [-p …]
                                   Print the entry a client spawns (with --client, as a snippet
                                   of that client's file) without writing anything
  mcp-run clients                  List MCP clients set up here and their configuration files
  mcp-run adopt [--client C | --file F] [--dry-run] [--form deno|docker|launcher] [--undo]
                                   Move a client's existing npx/uvx/docker… servers under mcp-run
  mcp-run check <manifest>…        Validate manifest files
  mcp-run list                     List the registry with a permission summary per server
  mcp-run search <words>…          Find registry entries by name, description or host
  mcp-run show <name>              Show one entry and, in plain words, what it may touch
  mcp-run diff <old> <new>         Show what a new manifest may touch that the old could not
  mcp-run export <name>            Print the entry as an MCP registry server.json
  mcp-run import <server.json>     Print a manifest (or a draft to complete) from a server.json
  mcp-run learn <package|manifest> [--call TOOL JSON]… [--env NAME]… [--write FILE] [-- args…]
                                   Run a server in a throwaway sandbox and draft its manifest
  mcp-run index <folder>           Print the index.json (sha256 digests) to serve a folder

<server> is a registry name (see list) or a manifest file path.

Options:
  -p, --param NAME=VALUE   A server parameter; repeat for list parameters
      --format text|json   Output format for data (default text)
      --dry-run            run: print the launch plan instead of starting
      --registry DIR|URL   Another registry source searched before the built-in one (repeatable)
      --cache DIR          mcp-run's cache (default $MCP_RUN_CACHE or ~/.cache/mcp-run)
      --jsr-url URL        Use a JSR mirror (sets JSR_URL for pull and run)
      --npm-registry URL   Use an npm mirror (sets NPM_CONFIG_REGISTRY for pull and run)
      --offline            run/inspect/call/serve: fail instead of pulling a server never pulled
      --yes                Accept a manifest that asks for more access than you approved
                           (pull, run, call, inspect, serve, config, install); approve:
                           pin the definitions shown without asking
      --diff               approve: show what changed since approved, record nothing
      --timeout SECONDS    inspect/call/approve: how long to wait for the server to start
                           (answer initialize) and for each answer after that (default 30)
      --isolation deno|docker|gvisor
                           deno (default): Deno's permission flags; docker: the same flags
                           inside a hardened container (never falls back to deno); gvisor:
                           that container under gVisor's user-space kernel, not the host's
                           (needs runsc registered with docker: see the README's "Isolation
                           tiers"; no container network: granted hosts only through mcp-run's
                           proxy). pypi: and oci: packages run only in a container: docker
                           unless given. The default, the images and gVisor's runtime name can
                           be set in ~/.config/mcp-run/config.json:
                           { "isolation": "gvisor", "gvisorRuntime": "runsc",
                             "images": { "deno": "…", "python": "…" } }
      --image IMAGE        docker, gvisor: the image of the server's package kind (default
                           ${DENO_IMAGE}; pypi: python:3.12-slim-bookworm pinned by digest)
      --network NAME       docker only: network for Deno servers that declare one and for their
                           pull (default bridge; servers that declare none always get none;
                           pypi:/oci: servers reach granted hosts only through mcp-run's proxy)
      --memory SIZE, --cpus N, --pids-limit N
                           docker, gvisor: resource limits (default 1024m, 1, and 256
                           processes, 1024 under gvisor, whose own threads count). Memory caps
                           of every server, natively too, in the config file: { "limits":
                           { "heapMb": 512, "memoryMb": 1024 } }; a manifest may raise them
      --egress-rate RATE   docker only, run/serve: cap what the server's container sends, e.g.
                           10mbit or 1mbps (tc's token bucket on its interface; needs root)
      --trust              docker, gvisor: allow a server's declared run/ffi permissions
      --allow-build        pypi, docker only: let the pull build source distributions (runs
                           their build code, in the pull container only); default: wheels only
      --client C           install/uninstall/config: claude-desktop, vscode, cursor,
                           claude-code, windsurf, zed, goose, continue
      --scope user|project Which configuration file (default: the client's user file)
      --form F             deno (default): self-contained deno command; launcher: calls
                           mcp-run run (pinned, cached; under gvisor the default of install,
                           adopt and config --client);
                           docker: a container
      --launcher L         launcher form: a checkout (folder or CLI file) or a pinned
                           jsr:@sandboxed/mcp-run@x.y.z/cli (default: this mcp-run)
      --name N             Entry name (default: the server's name)
      --file F             Edit this file instead of the client's standard one
      --force              Replace or remove an entry mcp-run did not write
      --env-file F         install --form docker: write the secrets (from mcp-run's
                           environment) to F, readable only by you, and pass it to docker;
                           for clients that cannot reference a secret (Claude Desktop, Zed)
      --tools A,B          run/serve/inspect/call, launcher-form entries: offer only these
                           tools (names or * globs, repeatable); narrows the manifest's
                           "tools" section, never widens it
      --exclude-tools A,B  Never offer these tools; a call to one is answered with an error
      --scan warn|block    What becomes of a tool, prompt or resource whose description or
                           schema reads as instructions to the model (<IMPORTANT> blocks,
                           "ignore previous instructions", hiding things from the user,
                           credential files, other servers' tools): block (default) leaves it
                           out and refuses calls to it; warn reports it on stderr. Hidden and
                           control characters (tag, zero-width, bidi, terminal escapes) are
                           always removed. Default: "scan" in config.json, else the manifest's
      --audit FILE         run/serve: append one JSON line per answered request to FILE (time,
                           session, method, tool, duration, outcome, sizes), and one per server
                           request, list change or cancellation; created readable only by
                           you, never a file the server may access. Launcher entries
                           (config/install --form launcher) pass it on. With
                           OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT, _HEADERS) set, each
                           request is also sent as an OpenTelemetry span (OTLP/HTTP JSON)
      --audit-content      With --audit or OTLP: record arguments and results too, and error
                           text (long values cut; fields named like secrets, URL passwords and
                           token-shaped values masked)
  -h, --help               Show help (also: mcp-run <command> --help)

Exit codes: 0 ok · 1 error · 2 bad usage · 3 invalid manifest or refused grant ·
            4 cache missing or tampered · run: the server's own exit code once started`;

/** The line after each command's help: where the options commands share are described. */
export const SHARED_OPTIONS =
  "Options commands share (--isolation deno|docker|gvisor, --image, --memory, --cache, " +
  "--format, …):\nsee mcp-run --help.";

/** Help text per command, printed by `mcp-run <command> --help`. */
export const HELP: Record<string, string> = {
  run: `mcp-run run <server> [-p NAME=VALUE]… [--request-timeout S] [--dry-run] [-- server args…]

Starts the server with exactly its manifest's permissions and relays stdio, for an MCP client
config. Pulls the code on first use (progress on stderr). Stdout carries only MCP messages.
--dry-run prints the program, argv, environment names and folder instead of starting (without
the per-launch DENO_AUDIT_PERMISSIONS channel). Each access the server is refused is written to
stderr once, as it happens: "mcp-run: <server> was refused <what>: to allow it, <change>" (or
why it can never be granted); mcp-run denials <server> lists them later.

Every message passes mcp-run's guard of the MCP layer. Lines from the server that are not
JSON-RPC, answers to requests no one made or that were answered already, progress for no open
request, and notifications beyond 100 a second (after a burst of 500) are dropped and counted on stderr. A request the
server makes of the client (sampling, elicitation, roots) reaches the client only if the client
offered that capability in initialize; otherwise the server gets an error. JSON-RPC batches are
refused. The poisoning scan removes hidden and control characters from every definition the
server lists and leaves out those with instruction-like text (see --scan); --tools and
--exclude-tools narrow the tools offered. Each finding is written to stderr once.
  --request-timeout S      Answer a request the server does not answer in S seconds with a
                           JSON-RPC error and cancel it (its progress notifications restart
                           the clock, up to 10 × S in all); a server that then does not
                           answer a ping within S seconds is stopped (exit code 1).
                           Default: no limit
  --audit FILE             Append one JSON line per answered request (refused ones too, with
                           the check that refused them); see the general usage
  --audit-content          Add arguments and results, bounded and with secrets masked`,
  pull: `mcp-run pull <server> [-p …]

Caches the server's code and writes its lockfile; no server code runs. Later runs are offline.
An intact cache is left as it is; a changed or damaged one is fetched again into an empty folder.
A manifest that asks for more access than you approved is refused until --yes.`,
  flags: `mcp-run flags <server> [-p …] [--format json]

Prints the exact command line the server runs with (deno, or docker with --isolation docker or
gvisor).
The server also needs the environment and folder it is started with: run --dry-run shows them.`,
  inspect: `mcp-run inspect <server> [-p …] [--timeout SECONDS] [--format json]

Starts the server sandboxed, prints its permissions in plain words and the tools, prompts and
resources it offers, then stops it. A server that exits is reported with its exit code and the
end of its stderr; one that does not answer within --timeout seconds (default 30: for start-up,
then for each request) is stopped and named. What the server was refused (from Deno's own
permission records) is listed after the rest, with how to allow each (see mcp-run denials).
Then what clients of run and serve would not see (--tools, --exclude-tools, the scan), and each
finding of the poisoning scan: where, what, and an excerpt with hidden characters spelled out
(with --format json, under "leftOut" and "findings").`,
  call: `mcp-run call <server> <tool> [JSON arguments] [-p …] [--timeout SECONDS] [--format json]

Starts the server sandboxed, calls one tool with the JSON object given, prints the result and
stops the server. Exits 1 when the tool reports an error, when the server exits (its exit code
and the end of its stderr are shown) or when it does not answer within --timeout seconds
(default 30: for start-up, then for the call). What the server was refused is listed on stderr
after the result (with --format json, under "denials"); see mcp-run denials. A call that run's
guard would refuse (--tools, --exclude-tools, a poisoned definition; see --scan) exits 1 before
it reaches the server.`,
  approve: `mcp-run approve <server> [-p …] [--diff] [--yes] [--timeout SECONDS] [--format json]
                [-- server args…]

Starts the server sandboxed, reads every tool, prompt and resource template it lists and pins
them: a hash of each definition (name, title, description, input and output schemas,
annotations) is kept in mcp-run's cache, out of the server's reach. With nothing pinned yet it
shows every definition; with pins, what changed in plain words ("tool read_file: description
changed: …", "tool exfil added", "prompt x removed"). The new set is recorded once you approve:
on a terminal, or with --yes (which, as for run, also accepts a manifest that asks for more
access than you approved). --diff shows what changed and records nothing.
A server's first launch (run, serve, a launcher-form client entry) pins what it lists when it has
no pins (trust on first use). Later launches pass only pinned definitions: a changed or added
tool, prompt or resource template, at start or after a list_changed notification while running,
is left out of the lists the client sees and its calls are refused with a JSON-RPC error, until
it is approved here. Removed ones are not blocked.
Exit codes: 0 recorded or unchanged; 1 changed (or nothing pinned yet) and not recorded (--diff:
1 when anything changed).`,
  denials: `mcp-run denials <server> [--format json]

Lists what the server's last run (run, inspect, call or a serve session) was refused, from
Deno's own permission records (and, for pypi:/oci: servers, the egress proxy's refusals): what
was asked (read /home/ada/.config/foo, net api.example.com:443, env FOO_TOKEN, sys homedir), the
exact manifest line or -p value that would allow it, or why it can never be granted. run writes
each one to stderr as it happens; inspect and call print them after their output.`,
  serve: `mcp-run serve <server> [-p NAME=VALUE]… [options] [-- server args…]
mcp-run serve --set-passphrase [--state-dir DIR]

Serves the server over MCP Streamable HTTP (POST, GET stream, DELETE; spec 2025-11-25) at
http://HOST:PORT/mcp, sandboxed exactly as \`run\` starts it. Each HTTP session gets its own
process; the client's headers (Authorization, cookies) never reach it. /healthz answers
{"status":"ok"}. SIGINT or SIGTERM ends every session and process, then exits 0.

Authentication (one of):
  --auth oauth --public-url URL
                           OAuth 2.1 for remote clients such as claude.ai: mcp-run is the
                           protected resource and a small authorization server for its owner
                           (discovery metadata, dynamic client registration, PKCE S256, a
                           consent page where the owner signs in with the passphrase). URL is
                           the address clients use, ending in /mcp: https, or http on
                           loopback; its host and origin are accepted. Sign-ins survive a
                           restart (see mcp-run tokens)
  --auth token --token-file F
                           Bearer tokens, one per line, file mode 600; clients send
                           "Authorization: Bearer <token>"; a session only answers its token.
                           Make one: (umask 077; openssl rand -hex 32 > F). --token-file alone
                           implies --auth token
  --auth none              No authentication (the default without --token-file): loopback
                           only
  --public                 No authentication, on any address, for a server safe to share: only
                           with a tool allowlist (--tools, or the manifest's tools.allow), and
                           with stricter default limits (16 sessions, 2 per client, 10
                           requests per second, 30 s per request)
  --set-passphrase         Set the owner's sign-in passphrase (at least 12 characters; asked
                           twice on a terminal, else one line from stdin), for every server.
                           Running servers use a new one at the next sign-in
  --state-dir DIR          Where OAuth state lives (default $XDG_STATE_HOME/mcp-run, else
                           ~/.local/state/mcp-run): passphrase, totp (when present, sign-in asks
                           for a code too), serve/<server>/ with its sign-ins

Options:
  --host ADDR              Address to listen on (default 127.0.0.1). Anything but loopback
                           requires --auth oauth, --auth token or --public
  --port N                 Port (default 8808; 0 picks a free one)
  --allowed-host NAME[:PORT]
                           Another accepted Host header (repeatable); loopback names and the
                           bound address are always accepted, others get 403
  --allowed-origin ORIGIN  A browser origin allowed to call (repeatable), e.g.
                           https://app.example.com; no wildcard; others get 403
  --session-mode isolated|shared
                           isolated (default): one process per session; shared: one process for
                           every session, request ids remapped
  --max-sessions N         Sessions at once (default 64); more get 503
  --warm N                 Keep N sandboxed processes started ahead (isolated mode, default
                           0): a new session takes one, never shared or reused, and a
                           replacement starts; fewer are kept as sessions near --max-sessions
  --max-sessions-per-client N
                           Sessions one client address may hold (default 16); a new one
                           replaces that client's least recently used idle session
  --rate-limit N           Requests per second one client may start (default 50, burst 2N;
                           0 turns it off)
  --max-concurrent N       Requests (open streams included) per client at once (default 64)
  --max-connections N      TCP connections open at once (default 512); more are closed
  --max-connections-per-client N
                           Connections one client address (IPv6: one /64) may hold open
                           (default 64); more are closed. A connection must send each
                           request's headers within 10 s (of opening, or of the previous
                           answer) and its body within 30 s, or it is closed
  --trust-proxy ADDR       A reverse proxy or tunnel (cloudflared, nginx) in front of serve,
                           as an IP address or CIDR range (repeatable). For requests from it,
                           the client is the right-most X-Forwarded-For address that is not a
                           trusted proxy, else CF-Connecting-IP, and per-client limits count
                           that client; from any other peer those headers are ignored. A
                           trusted proxy has no per-client connection cap. No range wider than
                           a /8 (IPv4) or /32 (IPv6). Without it behind a proxy, sign-in
                           lockout sees one client: serve warns of an https --public-url
  --idle-timeout S         Close sessions idle for S seconds (default 600)
  --request-timeout S      Answer a request the server does not answer in S seconds with a
                           JSON-RPC error (default 60)
  --isolation deno|docker|gvisor
                           Sandbox of each process, as for run (default deno); docker gives
                           every session its own hardened container, gvisor that container
                           under gVisor's user-space kernel (recommended with --public)
  --json-response          Answer each POST with one JSON body instead of an event stream:
                           faster, but progress, logging and server requests (sampling,
                           elicitation, roots) then reach only clients that keep the GET
                           stream open
  --audit FILE             One JSON line per answered request of every session (see run);
                           --audit-content adds arguments and results
  --dry-run                Print the launch plan and the address instead of serving`,
  config: `mcp-run config <server> [--client C] [--form deno|launcher|docker] [-p …] [--image IMAGE]

Pulls the server if needed, then prints the entry an MCP client spawns to run it directly:
{"command": "deno", "args": [...]} (the deno form, the default) or {"command": "docker", …} (a
complete hardened docker run: --form docker, or --isolation docker; with --isolation gvisor it
runs under gVisor's runtime, runsc, --form deno is refused, and a server with network grants
needs --form launcher). The entry states what the server may touch. Secrets are never written:
the client provides them by name. With --client, prints the entry as install would write it, as
a snippet of that client's file (secrets referenced through the client's own mechanism; under
gVisor the launcher form unless --form says otherwise); nothing is written. The launcher form
(an entry that starts a pinned, cached mcp-run) needs --client.`,
  learn:
    `mcp-run learn <package|manifest> [--call TOOL JSON]… [--env NAME]… [--write FILE [--force]]
              [--no-probe] [--timeout SECONDS] [-- server args…]

Runs the server once in a throwaway sandbox that touches nothing real: a fresh cache, a scratch
HOME, working folder and TMPDIR, an empty scratch stand-in for every server argument that names
an existing path (it becomes a parameter), and a placeholder value for every --env NAME (never
your value; --env NAME=VALUE gives a real, non-secret setting such as AWS_REGION=us-east-1). A
permission broker records every check the server makes while it starts, lists its
tools, prompts and resources, calls the tools you name with --call (repeatable), then calls every
other tool once with sample arguments made from its input schema (paths name a scratch folder;
--no-probe skips this), so the hosts, files and programs a tool's work needs are seen too. Reads
outside its code and scratch folders, writes outside them, network, programs and native libraries
are refused.

Prints what the draft allows and the draft manifest (JSONC); --write FILE saves it (an existing
file only with --force). The package is npm:name@1.2.3, npm:name or name@latest (the registry
gives the exact version), jsr:@scope/name@1.2.3, or a manifest file. The draft grants only what
the server asked for: paths as parameters, hosts seen (never private addresses), sys names, and
environment names used: those you named with --env, or those without which the server failed to
start and with which it started (a second run with placeholders). Names it only probed are left
out; credential-looking ones go under secrets. Programs and native libraries are never granted
natively: the draft says why and what the docker form needs. Exits 1 when the server did not
start (the draft is still printed, and written with --write unless the server never ran).
Everything after -- goes to the server: give mcp-run's own options before it.`,
  check: `mcp-run check <manifest>… [--isolation deno|docker|gvisor [--trust]] [--format json]

Validates manifest files and reports every problem with its JSON path, line and column. Applies
the grant policy run applies to what a manifest decides by itself: literal network entries
(private and loopback addresses included), literal paths (/, the home folder, /proc, ~/.ssh, …),
and run/ffi, refused unless checked with --isolation docker (or gvisor) --trust. Entries that use a parameter
are checked when run gets its value. Exits 3 when any file has a problem.`,
  install: `mcp-run install <server> --client C [--scope user|project] [--form deno|launcher|docker]
                [-p NAME=VALUE]… [--name N] [--file F] [--force] [-- server args…]

Pulls the server's code (so the entry starts offline) and adds an entry to the client's
configuration. Only the entry's lines change: comments, order and formatting elsewhere are kept,
the write is atomic and the previous file is kept as <file>.bak. Installing twice changes nothing.
An entry of the same name that mcp-run did not write is replaced only with --force.
Secrets are referenced through the client's own mechanism, never written as values.`,
  uninstall: `mcp-run uninstall <entry> --client C [--scope user|project] [--file F] [--force]

Removes an entry mcp-run wrote; other entries, comments and formatting stay as they were.`,
  adopt: `mcp-run adopt [--client C | --file F] [--scope user|project] [--dry-run]
              [--form deno|docker|launcher] [--yes] [--undo [--force]] [--format json]

Moves a client's existing servers under mcp-run. Each npx, npm exec, node, uvx, pipx run,
python -m, deno run and docker run entry is recognised (package and exact version); a catalogue
server becomes its entry, its arguments parameters (filesystem's folders become -p dirs=…) and
its env tokens the client's own secret references, never values in the file. A server outside
the catalogue gets a draft manifest (learn), shown for approval (on a terminal, or --yes) and
written to the manifests folder beside mcp-run's config. HTTP/URL entries and commands it does
not recognise are listed with the reason and left as they are. Only the adopted entries' lines
change (comments, line endings and a byte order mark are kept), atomically; --dry-run prints the
plan only. For Claude Desktop and Zed, which cannot reference a secret, an entry with secrets gets
the docker form: its values go to a file readable only by you (this needs Docker).
--undo restores the files byte for byte, unless they changed since (then only with --force); the
originals are kept in the undo folder beside mcp-run's config, readable only by you.`,
  clients: `mcp-run clients [--format json]

Lists every supported client and scope: its configuration file, and whether it is set up here.`,
  list: `mcp-run list [--format json]

Lists the servers in the registry.`,
  show: `mcp-run show <name> [--format json]

Shows one registry entry: package, parameters, secrets, and what it may touch in plain words.`,
  search: `mcp-run search <words>… [--format json]

Lists the entries whose name, description, package or hosts contain every word.`,
  diff: `mcp-run diff <old> <new> [--format json]

Compares two manifests (registry names or files): added and removed grants, secrets and
settings. Exits 1 when the new one may touch more.`,
  export: `mcp-run export <name>

Prints the entry as an official MCP registry server.json, with the complete manifest under
_meta["io.modelcontextprotocol.registry/publisher-provided"]["run.sandboxed/mcp-run"].`,
  import: `mcp-run import <server.json file or URL> [--format json]

Prints the manifest carried in a server.json's _meta. A server.json without it becomes a draft
that does not validate until its permissions are declared; the command then exits 3.`,
  tokens: `mcp-run tokens list [<server>] [--state-dir DIR] [--format json]
mcp-run tokens revoke <server> <ID>|--all [--state-dir DIR]

Lists the sign-ins remote clients made to servers that mcp-run serve --auth oauth serves, one
per sign-in (its refreshed tokens included): its ID, the client, and when its access token and
the sign-in itself expire. Token values are never shown (only their hashes are stored). revoke
deletes one sign-in's tokens (an ID, or a unique start of one), or every sign-in of the server
with --all; a running serve refuses them at the next request, and the client must sign in
again. --state-dir as for serve. Exits 2 for a server with no sign-ins (naming those with
some) and for state files or folders other users can read or write (naming the chmod).`,
  index: `mcp-run index <folder>

Validates the manifests in a folder and prints the index.json that lets the folder be served
as a --registry URL: each entry's sha256 is checked when it is loaded.`,
  deploy: `mcp-run deploy <server> --target systemd|kubernetes|compose [-p NAME=VALUE]…
               [--out DIR [--force]] [serve options] [--egress-address NAME=CIDR]…

Writes the files that run \`mcp-run serve <server>\` as a hardened service, from the same
manifest and parameters; without --out, prints them. Never replaces a file without --force.
  systemd     mcp-run-<server>.service runs --program (default /usr/local/bin/mcp-run:
              install it with tools/install.sh /usr/local in mcp-run's repository, a copy
              with its own Deno and cached dependencies), as a dynamic user (a static one of
              the unit's name when the server writes: it owns the write grants), read-only
              system, no home, private /tmp and devices, a system call filter,
              IPAddressDeny=any with only loopback, the clients and the granted egress
              allowed, memory and CPU caps, a state folder.
              mcp-run-<server>-pull.service caches the server before each start: the service
              runs serve --offline and can reach no registry; the pull runs no server code.
              (MemoryDenyWriteExecute= is left off: V8's JIT needs it.)
  kubernetes  mcp-run-<server>.yaml: a Deployment under the restricted pod security standard,
              a Service, a NetworkPolicy allowing only the granted egress, a claim for state;
              the token, passphrase and secrets come from a Secret (the file says how). Its
              pods run serve --offline: a Job with its own policy caches the server first.
  compose     compose.yaml: docker mode's container hardening, the token or passphrase as a
              compose secret (outside swarm, the file itself: make it readable by the
              container's user, chown 1993; the passphrase is copied into the deployment's
              folder), the port published on 127.0.0.1, a volume for state. A manifest
              file's folder is mounted read-only; write grants must be uid 1993's. A pull
              service caches the server, then it runs serve --offline. Compose cannot
              filter egress by address or cap its rate: Deno's net grants are the limit.
  With --out, it prints the steps that set up and start the deployment.

Options:
  --target T               systemd, kubernetes or compose (required)
  --out DIR                Write the files into DIR and print the commands that start them
  --force                  Replace files that exist in DIR
  --host, --port, --allowed-host, --allowed-origin, --trust-proxy, --session-mode, --tools,
  --exclude-tools, --max-sessions, --rate-limit, --idle-timeout, --request-timeout
                           Passed on to serve (compose and kubernetes listen on 0.0.0.0);
                           no other serve option is; --max-sessions defaults to 4 here
  --memory SIZE, --cpus N, --pids-limit N
                           The whole service's limits (default per session plus serve's:
                           1024m and 256 tasks each, 1 CPU; tasks not on kubernetes)
  --isolation gvisor       Serve under gVisor's user-space kernel: systemd's serve and pull
                           run --isolation gvisor (the units join the docker group),
                           Kubernetes the pod under runtimeClassName: gvisor; compose is
                           refused (see the README's "Isolation tiers"). Only when given:
                           the config file's default isolation is not followed
  --audit NAME             serve --audit, to the file NAME in the service's state folder
  --egress-rate RATE       kubernetes: the pod's egress-bandwidth annotation (e.g. 10mbit;
                           default none; needs the cluster's bandwidth plugin). systemd has
                           no per-unit egress rate and compose cannot shape its container:
                           refused there
  --token-file F           Token mode (the default): systemd loads F as a credential, compose
                           mounts it as a secret; kubernetes reads the Secret's "token" key
  --auth oauth --public-url URL
                           serve's OAuth sign-in; the owner's passphrase file (the one serve
                           signs in with) becomes a credential (systemd), a secret (compose)
                           or the Secret's "passphrase" key (kubernetes); OAuth data persists
                           in the state folder, volume or claim
  --state-dir DIR          Where the passphrase is here (default
                           \${XDG_STATE_HOME:-~/.local/state}/mcp-run)
  --public                 No authentication: only for a server with a tool allowlist
  --egress-address NAME=CIDR
                           Addresses you trust for a granted host name (repeatable): systemd's
                           IPAddressAllow= and a NetworkPolicy filter addresses, not names
  --client-address ADDR    systemd, beyond loopback: addresses clients connect from
                           (repeatable; "any" for all); --trust-proxy ones always may
  --program PATH           systemd: the mcp-run the units run (default
                           /usr/local/bin/mcp-run; tools/install.sh PREFIX installs
                           PREFIX/bin/mcp-run)
  --deploy-image IMAGE     compose, kubernetes: the image holding mcp-run (default
                           mcp-run/mcp-run:0.1.0, built in mcp-run's repository with
                           git archive HEAD |
                             docker build -t mcp-run/mcp-run:0.1.0 -f runtime/deploy/Dockerfile -)`,
};
