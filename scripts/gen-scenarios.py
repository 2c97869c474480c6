#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Regenerate scenarios/*.json and their *.expected files.

Developer tool (not run by `make test`): the capability tokens in the
scenario files are signed with fixed test seeds by `chio capability issue`,
and Ed25519 is deterministic, so running this again reproduces the same
files. The expected files list, per step, only the fields the conformance
test compares: op, ok / verdict, code and the receipt decision (verdict,
guard). They are written from the spec, not from a run.
scenarios/clock_back, pipeline_order, delegation and boundaries are
hand-made and not written here: delegated tokens cannot be issued with
`chio capability issue`.

usage: scripts/gen-scenarios.py [path/to/chio]
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHIO = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "chio")
OUT = os.path.join(ROOT, "scenarios")

SEEDS = {"kernel": "07" * 32, "agent": "0b" * 32, "other": "0c" * 32}
IAT = 1710000000
CLOCK = 1710000300
tmp = tempfile.mkdtemp()


def seed_file(name):
    path = os.path.join(tmp, name + ".seed")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(SEEDS[name] + "\n")
        os.chmod(path, 0o600)
    return path


def pub(name):
    return subprocess.check_output([CHIO, "pubkey", "--seed-file", seed_file(name)], text=True).strip()


def token(cid, scope, issuer="kernel", subject="agent", iat=IAT, ttl=1000):
    out = subprocess.check_output(
        [CHIO, "capability", "issue", "--seed-file", seed_file(issuer), "--subject", pub(subject),
         "--scope", json.dumps(scope), "--ttl", str(ttl), "--now", str(iat), "--id", cid],
        text=True)
    return json.loads(out)


def grant(server="*", tool="*", ops=("invoke",), **extra):
    g = {"server_id": server, "tool_name": tool, "operations": list(ops)}
    g.update(extra)
    return g


KERNEL = {"signing_seed_hex": SEEDS["kernel"], "policy_hash": "scenario-policy-v1",
          "max_delegation_depth": 4, "checkpoint_batch_size": 100}


def call(session, cap, server, tool, args=None, at=None):
    s = {"op": "call", "session": session, "capability_id": cap, "server": server, "tool": tool,
         "arguments": args if args is not None else {}}
    if at is not None:
        s["at"] = at
    return s


def allow():
    return {"verdict": "allow", "code": "none", "decision": {"verdict": "allow"}}


def deny(code, guard=None):
    return {"verdict": "deny", "code": code,
            "decision": {"verdict": "deny", "guard": guard or code}}


def error(code):
    return {"verdict": "error", "code": code}


def ok(flag=True):
    return {"ok": flag}


def write(name, doc, expected):
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    with open(os.path.join(OUT, name + ".expected"), "w") as f:
        for i, (step, exp) in enumerate(zip(doc["steps"], expected)):
            line = {"step": i, "op": step["op"]}
            line.update(exp)
            f.write(json.dumps(line, sort_keys=True) + "\n")
    assert len(doc["steps"]) == len(expected), name


def main():
    os.makedirs(OUT, exist_ok=True)
    agent = pub("agent")

    # 1. scope and constraints
    files = token("cap-files", {"grants": [
        grant("srv-files", "file_read", constraints=[{"type": "path_prefix", "value": "/workspace"}]),
        grant("srv-web", "fetch", constraints=[{"type": "domain_glob", "value": "*.example.com"}]),
        grant("srv-files", "file_write", ops=("read_result",))]})
    write("scope_and_constraints", {
        "schema": "chio.scenario.v1", "clock": CLOCK, "kernel": KERNEL,
        "tool_servers": [{"server_id": "srv-files", "tools": ["file_read", "file_write"], "behavior": "echo"},
                         {"server_id": "srv-web", "tools": ["fetch"], "behavior": "echo"}],
        "steps": [
            {"op": "open_session", "session": "s1", "agent": agent, "capabilities": [files]},
            call("s1", "cap-files", "srv-files", "file_read", {"path": "/workspace/a.txt"}),
            call("s1", "cap-files", "srv-files", "file_read", {"path": "/workspace/../etc/passwd"}),
            call("s1", "cap-files", "srv-files", "file_read", {"path": "/workspacex/a"}),
            call("s1", "cap-files", "srv-files", "file_write", {"path": "/workspace/a.txt"}),
            call("s1", "cap-files", "srv-web", "fetch", {"url": "https://api.example.com/v1"}),
            call("s1", "cap-files", "srv-web", "fetch", {"url": "https://example.org/"}),
            call("s1", "cap-files", "srv-db", "query", {}),
        ]}, [ok(), allow(), deny("constraint_violated"), deny("constraint_violated"),
             deny("out_of_scope"), allow(), deny("constraint_violated"), deny("out_of_scope")])

    # 2. the token checks: signature, issuer, time, revocation, subject
    good = token("cap-good", {"grants": [grant()]})
    tampered = dict(good)
    tampered["expires_at"] = good["expires_at"] + 86400
    foreign = token("cap-foreign", {"grants": [grant()]}, issuer="other")
    other_subject = token("cap-theirs", {"grants": [grant()]}, subject="other")
    write("token_checks", {
        "schema": "chio.scenario.v1", "clock": CLOCK, "kernel": KERNEL,
        "tool_servers": [{"server_id": "srv", "tools": ["t"], "behavior": "echo"}],
        "steps": [
            {"op": "open_session", "session": "s1", "agent": agent,
             "capabilities": [good, foreign, other_subject]},
            {"op": "open_session", "session": "s2", "agent": agent, "capabilities": [tampered]},
            call("s1", "cap-good", "srv", "t"),
            call("s2", "cap-good", "srv", "t"),
            call("s1", "cap-foreign", "srv", "t"),
            call("s1", "cap-theirs", "srv", "t"),
            call("s1", "cap-good", "srv", "t", at=IAT + 999),
            call("s1", "cap-good", "srv", "t", at=IAT + 1000),
            call("s1", "cap-good", "srv", "t", at=IAT),
            call("s1", "cap-good", "srv", "t", at=IAT - 1),
            {"op": "revoke", "capability_id": "cap-good"},
            call("s1", "cap-good", "srv", "t"),
        ]}, [ok(), ok(), allow(), deny("invalid_signature"), deny("untrusted_issuer"),
             deny("subject_mismatch"), allow(), deny("capability_expired"), allow(),
             deny("capability_not_yet_valid"), ok(), deny("capability_revoked")])

    # 3. guards
    cap = token("cap-g", {"grants": [grant()]})
    write("guards", {
        "schema": "chio.scenario.v1", "clock": CLOCK, "kernel": KERNEL,
        "tool_servers": [{"server_id": "srv-files", "tools": ["file_read"], "behavior": "echo"}],
        "guards": [{"name": "ForbiddenPathGuard", "type": "forbidden_path", "prefixes": ["/etc/", "/root/"]},
                   {"name": "SecretLeakGuard", "type": "secret_leak",
                    "patterns": ["AKIA[0-9A-Z]{16}", "-----BEGIN [A-Z ]*PRIVATE KEY-----"]}],
        "steps": [
            {"op": "open_session", "session": "s1", "agent": agent, "capabilities": [cap]},
            call("s1", "cap-g", "srv-files", "file_read", {"path": "/workspace/a"}),
            call("s1", "cap-g", "srv-files", "file_read", {"path": "/etc/shadow"}),
            call("s1", "cap-g", "srv-files", "file_read", {"opts": {"paths": ["/tmp/a", "/root/.ssh/id"]}}),
            call("s1", "cap-g", "srv-files", "file_read", {"path": "/workspace/a", "note": "AKIAABCDEFGHIJKLMNOP"}),
            call("s1", "cap-g", "srv-files", "file_read", {"body": "-----BEGIN RSA PRIVATE KEY-----"}),
        ]}, [ok(), allow(), deny("guard_denied", "ForbiddenPathGuard"),
             deny("guard_denied", "ForbiddenPathGuard"), deny("guard_denied", "SecretLeakGuard"),
             deny("guard_denied", "SecretLeakGuard")])

    # 4. budget
    cap = token("cap-b", {"grants": [grant("srv", "t", max_invocations=2)]})
    write("budget", {
        "schema": "chio.scenario.v1", "clock": CLOCK, "kernel": KERNEL,
        "tool_servers": [{"server_id": "srv", "tools": ["t", "u"], "behavior": "echo"}],
        "steps": [
            {"op": "open_session", "session": "s1", "agent": agent, "capabilities": [cap]},
            call("s1", "cap-b", "srv", "t"), call("s1", "cap-b", "srv", "t"),
            call("s1", "cap-b", "srv", "t"), call("s1", "cap-b", "srv", "u"),
            call("s1", "cap-b", "srv", "nope"),
        ]}, [ok(), allow(), allow(), deny("budget_exhausted"), deny("out_of_scope"),
             deny("out_of_scope")])

    # 5. sessions and errors without a receipt
    cap = token("cap-s", {"grants": [grant()]})
    write("sessions", {
        "schema": "chio.scenario.v1", "clock": CLOCK, "kernel": KERNEL,
        "tool_servers": [{"server_id": "srv", "tools": ["t"], "behavior": "echo"}],
        "steps": [
            {"op": "open_session", "session": "s1", "agent": agent, "capabilities": [cap]},
            {"op": "open_session", "session": "s2", "agent": agent, "capabilities": [cap]},
            call("s1", "cap-s", "srv", "t"),
            call("s1", "cap-missing", "srv", "t"),
            call("nosuch", "cap-s", "srv", "t"),
            call("s1", "cap-s", "srv", "unregistered"),
            {"op": "begin_draining", "session": "s1"},
            call("s1", "cap-s", "srv", "t"),
            {"op": "close_session", "session": "s1"},
            call("s1", "cap-s", "srv", "t"),
            {"op": "close_session", "session": "s1"},
            {"op": "begin_draining", "session": "s1"},
            {"op": "close_session", "session": "nosuch"},
            call("s2", "cap-s", "srv", "t"),
            {"op": "drain"},
            call("s2", "cap-s", "srv", "t"),
        ]}, [ok(), ok(), allow(), deny("unknown_capability"), error("unknown_session"),
             deny("tool_not_registered"), ok(), error("session_draining"), ok(),
             error("session_closed"), ok(), ok(False), ok(False), allow(), ok(),
             error("kernel_drained")])

    # 6. streams, tool errors, nested flows
    cap = token("cap-n", {"grants": [grant()]})
    kernel = dict(KERNEL, max_stream_total_bytes=100, allow_sampling=True)
    write("streams_and_nested", {
        "schema": "chio.scenario.v1", "clock": CLOCK, "kernel": kernel,
        "tool_servers": [
            {"server_id": "srv-stream", "tools": ["big", "small"], "behavior": "stream", "chunks": 8, "chunk_bytes": 20},
            {"server_id": "srv-tiny", "tools": ["small"], "behavior": "stream", "chunks": 3, "chunk_bytes": 20},
            {"server_id": "srv-fail", "tools": ["boom"], "behavior": "fail"},
            {"server_id": "srv-sample", "tools": ["ask"], "behavior": "sample"},
            {"server_id": "srv-tools", "tools": ["ask"], "behavior": "sample_with_tools"},
            {"server_id": "srv-elicit", "tools": ["ask"], "behavior": "elicit"}],
        "steps": [
            {"op": "open_session", "session": "s1", "agent": agent, "capabilities": [cap]},
            call("s1", "cap-n", "srv-stream", "big"),
            call("s1", "cap-n", "srv-tiny", "small"),
            call("s1", "cap-n", "srv-fail", "boom"),
            call("s1", "cap-n", "srv-sample", "ask", {"q": 1}),
            call("s1", "cap-n", "srv-tools", "ask", {"q": 2}),
            call("s1", "cap-n", "srv-elicit", "ask", {"q": 3}),
        ]}, [ok(),
             {"verdict": "incomplete", "code": "stream_limit", "decision": {"verdict": "incomplete"}},
             allow(), deny("tool_error"),
             dict(allow(), child_decisions=[{"verdict": "allow"}]),
             dict(allow(), child_decisions=[{"verdict": "deny", "guard": "sampling_tool_use_not_allowed"}]),
             dict(allow(), child_decisions=[{"verdict": "deny", "guard": "elicitation_not_allowed"}])])

    # 7. require_web3_evidence without checkpoints
    cap = token("cap-w", {"grants": [grant()]})
    write("web3_required", {
        "schema": "chio.scenario.v1", "clock": CLOCK,
        "kernel": dict(KERNEL, require_web3_evidence=True, checkpoint_batch_size=0),
        "tool_servers": [{"server_id": "srv", "tools": ["t"], "behavior": "echo"}],
        "steps": [
            {"op": "open_session", "session": "s1", "agent": agent, "capabilities": [cap]},
            call("s1", "cap-w", "srv", "t"),
        ]}, [ok(), error("web3_evidence_required")])


if __name__ == "__main__":
    main()
