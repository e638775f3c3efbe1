"""A PEP 517 build backend, standard library only, for the test packages beside it.

`pip wheel --no-build-isolation --no-deps <project>` builds a pure-Python wheel from the
project's pyproject.toml with nothing to download: [project] name, version, description,
requires-python and scripts, and [tool.mcp-run-test] modules (files beside pyproject.toml that
become top-level modules). The wheel is reproducible (fixed timestamps, sorted entries).
"""

import base64
import hashlib
import os
import re
import tomllib
import zipfile

EPOCH = (1980, 1, 1, 0, 0, 0)


def _project():
    with open("pyproject.toml", "rb") as f:
        data = tomllib.load(f)
    return data["project"], data.get("tool", {}).get("mcp-run-test", {})


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project, tool = _project()
    name = re.sub(r"[-_.]+", "_", project["name"]).lower()
    version = project["version"]
    dist_info = "%s-%s.dist-info" % (name, version)
    files = {}
    for module in tool.get("modules", []):
        with open(module, "rb") as f:
            files[os.path.basename(module)] = f.read()
    metadata = ["Metadata-Version: 2.1", "Name: " + project["name"], "Version: " + version]
    if "description" in project:
        metadata.append("Summary: " + project["description"])
    if "requires-python" in project:
        metadata.append("Requires-Python: " + project["requires-python"])
    files[dist_info + "/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[dist_info + "/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: mcp-run-test-backend\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n").encode()
    scripts = project.get("scripts", {})
    if scripts:
        lines = ["[console_scripts]"] + ["%s = %s" % item for item in sorted(scripts.items())]
        files[dist_info + "/entry_points.txt"] = ("\n".join(lines) + "\n").encode()
    record = [_record_line(path, data) for path, data in sorted(files.items())]
    record.append(dist_info + "/RECORD,,")
    files[dist_info + "/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = "%s-%s-py3-none-any.whl" % (name, version)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            whl.writestr(info, data)
    return filename
