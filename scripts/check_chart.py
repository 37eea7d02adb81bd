"""Render, lint and validate charts/hwx offline with the real Helm engine (helm-python-sdk) and
kubernetes-validate --strict, for the default values and the variants in charts/hwx/ci/, and check
that the schema refuses a broken value. Exits non-zero on any finding."""

import copy
import pathlib
import sys

import helm_python as helm
import kubernetes_validate
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "hwx"
KUBE_VERSION = "1.37.0"
failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL {msg}")


def merged(variant):
    base = yaml.safe_load((CHART / "values.yaml").read_text())
    if variant is None:
        return base, {}
    override = yaml.safe_load((CHART / "ci" / variant).read_text())
    return base, override


def render(chart, values, label):
    manifests = chart.render(values, name="hwx", namespace="hwx", is_install=True)
    docs = []
    for path, text in manifests.items():
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                docs.append((path, doc))
    print(f"{label}: {len(docs)} objects rendered")
    return docs


def validate(docs, label):
    for path, doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except Exception as e:  # noqa: BLE001 - every failure is a finding
            fail(f"{label}: {path} {doc.get('kind')} {doc.get('metadata', {}).get('name')}: {e}")


def kinds(docs):
    out = {}
    for _, d in docs:
        out.setdefault(d["kind"], []).append(d)
    return out


def check_hardening(docs, label):
    for d in kinds(docs).get("Deployment", []):
        pod = d["spec"]["template"]["spec"]
        name = d["metadata"]["name"]
        if not pod.get("securityContext", {}).get("runAsNonRoot"):
            fail(f"{label}: {name} may run as root")
        for c in pod["containers"]:
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation") is not False:
                fail(f"{label}: {name}/{c['name']} is not hardened")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                fail(f"{label}: {name}/{c['name']} keeps capabilities")
            probe = c.get("readinessProbe", {})
            if name.endswith("-gateway"):
                if "httpGet" not in probe:
                    fail(f"{label}: {name} has no HTTP readiness probe")
            elif "grpc" not in probe:
                fail(f"{label}: {name} has no native gRPC probe")
            if c.get("args", [])[:1] != ["serve"]:
                fail(f"{label}: {name} does not run `hwx serve <role>`")


def registry():
    """The services the binary has (`hwx services --json`), when a built binary is at hand."""
    import json
    import os
    import subprocess

    candidates = [os.environ.get("HWX_BIN", "")]
    target = os.environ.get("CARGO_TARGET_DIR", str(pathlib.Path.home() / ".cache" / "hwx-target"))
    candidates += [f"{target}/debug/hwx", f"{target}/release/hwx"]
    for binary in candidates:
        if binary and pathlib.Path(binary).is_file():
            out = subprocess.run([binary, "services", "--json"], check=True, capture_output=True, text=True)
            return binary, [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return None, None


def check_registry(values):
    """Every service of the binary is a role of the chart, with its port and protocol; every
    other role of the chart is one not built yet, and disabled."""
    binary, services = registry()
    if services is None:
        fail("no built hwx binary to compare the chart's services with (set HWX_BIN)")
        return
    chart_services = values["services"]
    for s in services:
        entry = chart_services.get(s["name"])
        if entry is None:
            fail(f"registry: {s['name']} has no entry under services in values.yaml")
            continue
        if not entry.get("enabled"):
            fail(f"registry: {s['name']} is built but disabled in values.yaml")
        if entry.get("port") != s["port"]:
            fail(f"registry: {s['name']} listens on {s['port']}, values.yaml says {entry.get('port')}")
        if entry.get("protocol") != s["protocol"]:
            fail(f"registry: {s['name']} speaks {s['protocol']}, values.yaml says {entry.get('protocol')}")
    built = {s["name"] for s in services}
    for name, entry in chart_services.items():
        if name not in built and entry.get("enabled"):
            fail(f"registry: values.yaml enables {name}, which {binary} does not have")
    print(f"registry: the chart's services match the {len(services)} services of {binary}")


def main():
    chart = helm.Chart.load(CHART)
    check_registry(yaml.safe_load((CHART / "values.yaml").read_text()))
    for variant in [None, "autoscaled-values.yaml", "secret-ingress-values.yaml"]:
        label = variant or "default values"
        base, override = merged(variant)
        report = helm.lint(CHART, override or None, strict=True, kube_version=f"v{KUBE_VERSION}")
        problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2] + report.get("errors", [])
        for p in problems:
            fail(f"{label}: lint: {p}")
        docs = render(chart, override or None, label)
        validate(docs, label)
        check_hardening(docs, label)
        k = kinds(docs)
        if variant == "autoscaled-values.yaml":
            if len(k.get("HorizontalPodAutoscaler", [])) != 7 or len(k.get("Deployment", [])) != 7:
                fail(f"{label}: expected 7 Deployments and 7 HPAs")
            if any("replicas" in d["spec"] for d in k.get("Deployment", [])):
                fail(f"{label}: an autoscaled Deployment also fixes replicas")
        if variant == "secret-ingress-values.yaml":
            if k.get("Secret"):
                fail(f"{label}: the chart made a Secret although existingSecret is set")
            if len(k.get("Ingress", [])) != 1:
                fail(f"{label}: no Ingress")
            cors = [c["data"].get("HWX_CORS_ORIGINS") for c in k.get("ConfigMap", [])]
            if "https://portal.example.jp,https://jinzai.example.co.jp" not in cors:
                fail(f"{label}: config.corsOrigins did not reach HWX_CORS_ORIGINS: {cors}")
        if variant is None:
            if len(k.get("Deployment", [])) != 4 or len(k.get("NetworkPolicy", [])) != 4:
                fail(f"{label}: expected the 4 built roles (registration, job-feed, seeker-matching, gateway)")
            if not any(d["metadata"]["name"].endswith("-migrate") for d in k.get("Job", [])):
                fail(f"{label}: no migration Job")
            roles = k.get("Role", [])
            if not roles or not any("leases" in r.get("resources", []) for r in roles[0]["rules"]):
                fail(f"{label}: no RBAC for the leader-election Lease")
            bound = {s["name"] for s in k.get("RoleBinding", [{}])[0].get("subjects", [])}
            accounts = {a["metadata"]["name"] for a in k.get("ServiceAccount", [])}
            if bound != accounts:
                fail(f"{label}: the Lease role is bound to {bound}, the roles run as {accounts}")

    # The development values of k8s/ render and validate too, and so do the cluster-side pieces.
    dev = yaml.safe_load((ROOT / "k8s" / "dev-values.yaml").read_text())
    docs = render(chart, dev, "k8s/dev-values.yaml")
    validate(docs, "k8s/dev-values.yaml")
    for manifest in ["nats.yaml", "postgres.yaml", "otel-collector.yaml", "load-job.yaml"]:
        objects = [d for d in yaml.safe_load_all((ROOT / "k8s" / manifest).read_text()) if d]
        validate([(f"k8s/{manifest}", d) for d in objects], f"k8s/{manifest}")
        print(f"k8s/{manifest}: {len(objects)} objects validated")
    yaml.safe_load((ROOT / "skaffold.yaml").read_text())

    # Broken values are refused by values.schema.json with a message that names the key.
    for key_path, bad in [(("default", "replicas"), "two"), (("config", "maintenance"), "sometimes"), (("services", "gateway", "port"), 70000)]:
        override = {}
        node = override
        for k in key_path[:-1]:
            node = node.setdefault(k, {})
        node[key_path[-1]] = bad
        try:
            chart.validate_schema(helm.Chart.load(CHART).merge_values(override))
            fail(f"schema accepted {'.'.join(key_path)} = {bad!r}")
        except helm.HelmValuesError as e:
            if key_path[-1] not in str(e):
                fail(f"schema refusal does not name {key_path[-1]}: {e}")
            else:
                print(f"refused {'.'.join(key_path)} = {bad!r}: {str(e).splitlines()[0][:120]}")

    if failures:
        print(f"chart check: {len(failures)} problem(s)")
        sys.exit(1)
    print("chart check: lint, render and strict validation clean; broken values refused")


if __name__ == "__main__":
    main()
