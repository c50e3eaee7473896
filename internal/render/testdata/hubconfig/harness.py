# Runs a rendered jupyterhub_config.py as JupyterHub would load it (traitlets' config loader
# executes the file with `c` and `__file__` set), with stand-ins for JupyterHub's config
# object, for the ldap3 module and for a spawner, and prints what it configured as JSON:
#
#   python3 harness.py CONFIG_DIR CASES_JSON
#
# CASES_JSON: {"directory": {name: [{"uidNumber": n, "gidNumber": n}, ...]},
#              "groups": {name: [[group, gid], ...]}, "users": [name, ...]}
# Output: {"settings": {section: {trait: value}}, "spawns": {name: {...} | {"error": msg}},
#          "searches": [[base, filter], ...], "connections": [{...}]}
import asyncio
import json
import os
import re
import sys
import types

config_dir, cases_file = sys.argv[1], sys.argv[2]
with open(cases_file) as f:
    cases = json.load(f)


class Section:
    def __init__(self):
        object.__setattr__(self, "values", {})

    def __setattr__(self, name, value):
        self.values[name] = value

    def __getattr__(self, name):
        return self.values[name]


class Config:
    def __init__(self):
        object.__setattr__(self, "sections", {})

    def __getattr__(self, name):
        return self.sections.setdefault(name, Section())


# ldap3, as far as the hook uses it, over the directory of the cases.
searches, connections = [], []


class Entry:
    def __init__(self, attrs):
        for k, v in attrs.items():
            setattr(self, k, types.SimpleNamespace(value=v))


class Server:
    def __init__(self, url, use_ssl=False, connect_timeout=None):
        self.url, self.use_ssl = url, use_ssl


class Connection:
    def __init__(self, server, user=None, password=None, auto_bind=False, receive_timeout=None):
        connections.append({"url": server.url, "useSSL": server.use_ssl, "user": user, "password": password})
        self.entries = []

    def search(self, base, flt, attributes=None):
        searches.append([base, flt])
        m = re.fullmatch(r"\(uid=([^)]*)\)", flt)
        if m:
            self.entries = [Entry(e) for e in cases["directory"].get(m.group(1), [])]
            return
        m = re.fullmatch(r"\(\|\(memberUid=([^)]*)\)\(gidNumber=(\d+)\)\)", flt)
        if not m:
            raise AssertionError("unexpected LDAP filter " + flt)
        self.entries = [Entry({"cn": g, "gidNumber": n}) for g, n in cases["groups"].get(m.group(1), [])]

    def unbind(self):
        pass


def escape_filter_chars(s):
    return "".join("\\%02x" % ord(ch) if ch in "*()\\\0" else ch for ch in s)


ldap3 = types.ModuleType("ldap3")
ldap3.Server, ldap3.Connection = Server, Connection
ldap3.utils = types.ModuleType("ldap3.utils")
ldap3.utils.conv = types.ModuleType("ldap3.utils.conv")
ldap3.utils.conv.escape_filter_chars = escape_filter_chars
sys.modules.update({"ldap3": ldap3, "ldap3.utils": ldap3.utils, "ldap3.utils.conv": ldap3.utils.conv})

os.environ.update(
    CONFIGPROXY_AUTH_TOKEN="proxy-token",
    JPY_COOKIE_SECRET="00ff",
    CILOGON_CLIENT_SECRET="client-secret",
    LDAP_BIND_PASSWORD="bind-password",
)
path = os.path.join(config_dir, "jupyterhub_config.py")
c = Config()
with open(path) as f:
    exec(compile(f.read(), path, "exec"), {"c": c, "__file__": path})


def plain(v):
    if callable(v):
        return {"callable": v.__name__}
    if isinstance(v, bytes):
        return v.hex()
    return v


settings = {s: {k: plain(v) for k, v in sec.values.items()} for s, sec in c.sections.items()}
ks = c.sections["KubeSpawner"].values


def spawn(name):
    # A spawner as KubeSpawner starts one from these settings.
    spawner = types.SimpleNamespace(
        user=types.SimpleNamespace(name=name),
        uid=None,
        gid=None,
        fs_gid=None,
        supplemental_gids=[],
        pod_security_context=ks["pod_security_context"],
        working_dir=None,
        environment={},
        init_containers=ks["init_containers"],
    )
    try:
        asyncio.run(ks["pre_spawn_hook"](spawner))
    except Exception as e:  # the spawn fails with this message
        return {"error": str(e)}
    return {k: v for k, v in vars(spawner).items() if k != "user"}


spawns = {name: spawn(name) for name in cases["users"]}
json.dump({"settings": settings, "spawns": spawns, "searches": searches, "connections": connections}, sys.stdout, indent=1)
