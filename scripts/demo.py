"""Drives the local stack for the demo: starts moto, the Datto RMM simulator
and `cargo lambda watch`, then invokes the functions with API Gateway v2
events (JWT claims included, as the HttpApi authorizer would pass them) and
prints what happened. Everything it starts, it stops."""

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / ".local"
VENV_BIN = ROOT / ".venv" / "bin"
TENANT = "demo-msp"
API_KEY = "DEMO-API-KEY-" + uuid.uuid4().hex[:8].upper()
API_SECRET = "demo-secret-" + uuid.uuid4().hex
PLATFORM = "merlot"
AT_USER = "api.demo@msp.example"
AT_SECRET = "at-secret-" + uuid.uuid4().hex
AT_CODE = "DEMOINTEGRATIONCODE"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.25)
    sys.exit(f"{what} did not come up within {seconds} s; see {LOGS}/")


def http_ok(url):
    return urllib.request.urlopen(url, timeout=2).status == 200


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Stack:
    def __init__(self):
        self.procs = []
        LOGS.mkdir(exist_ok=True)

    def start(self, name, args, env=None):
        log = open(LOGS / f"{name}.log", "w")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self):
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, 15)
            except ProcessLookupError:
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)


def event(method, path, body=None, tenant=TENANT):
    path, _, query = path.partition("?")
    params = dict(pair.split("=", 1) if "=" in pair else (pair, "") for pair in query.split("&") if pair)
    context = {
        "accountId": "123456789012", "apiId": "rmmsync-local", "domainName": "localhost", "domainPrefix": "localhost",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "rmmsync-demo"},
        "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()), "timeEpoch": int(time.time() * 1000),
        "authorizer": {"jwt": {"claims": {"tenant": tenant, "sub": "admin@" + tenant}, "scopes": None}},
    }
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "queryStringParameters": params or None,
        "headers": {"content-type": "application/json", "authorization": "Bearer <verified by API Gateway>"},
        "requestContext": context, "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }


class Demo:
    def __init__(self, watch_port):
        self.watch_port = watch_port
        self.step = 0

    def invoke(self, function, method, path, body=None, tenant=TENANT, note="", quiet=False):
        if quiet and not note:
            return self._call(function, method, path, body, tenant)
        self.step += 1
        shown = None if body is None else {k: ("***" if k in ("apiKey", "apiSecret") else v) for k, v in body.items()}
        print(f"\n[{self.step}] {note}\n    {method} {path}" + (f"  {json.dumps(shown)}" if shown else "") + f"   (tenant {tenant})")
        status, payload = self._call(function, method, path, body, tenant)
        if not quiet:
            print(f"    -> {status} {json.dumps(payload, indent=2).replace(chr(10), chr(10) + '       ') if payload is not None else ''}")
        else:
            print(f"    -> {status}")
        return status, payload

    def _call(self, function, method, path, body, tenant):
        out = subprocess.run(
            ["cargo", "lambda", "invoke", function, "-A", "127.0.0.1", "-P", str(self.watch_port), "--data-ascii",
             json.dumps(event(method, path, body, tenant))],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )
        if out.returncode != 0:
            sys.exit(f"cargo lambda invoke failed:\n{out.stderr}")
        response = json.loads(out.stdout)
        status = response["statusCode"]
        payload = json.loads(response["body"]) if response.get("body") else None
        for secret in (API_KEY, API_SECRET, AT_SECRET):
            assert secret not in out.stdout, "a response carried a credential"
        return status, payload

    def invoke_event(self, function, event):
        """Invokes a function with a prepared event; returns (status, body text)."""
        out = subprocess.run(
            ["cargo", "lambda", "invoke", function, "-A", "127.0.0.1", "-P", str(self.watch_port), "--data-ascii",
             json.dumps(event)],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )
        if out.returncode != 0:
            return 502, out.stderr[-500:]
        response = json.loads(out.stdout)
        if "statusCode" not in response:  # a worker: its answer is the result itself
            return 200, json.dumps(response)
        return response["statusCode"], response.get("body") or ""


class Relay:
    """Stands in for API Gateway's unauthenticated /hooks routes: every POST the
    simulators send becomes an API Gateway v2 event for the tickets function
    (no JWT: the hook token authenticates), and its answer goes back."""

    def __init__(self, demo):
        relay = self
        self.demo = demo
        self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode("utf-8", "replace")
                path, _, query = self.path.partition("?")
                ev = event("POST", self.path, None)
                ev["requestContext"].pop("authorizer")
                ev["headers"] = {k.lower(): v for k, v in self.headers.items()}
                ev["queryStringParameters"] = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()} or None
                ev["body"] = body
                status, answer = relay.demo.invoke_event("tickets", ev)
                relay.seen.append((path.split("/")[2], status, answer))
                print(f"    <- hook {path.split('/')[2]}: {status} {answer}")
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n, seconds=120):
        wait_for(f"{n} hook deliveries", lambda: len(self.seen) >= n, seconds)


def run_sync(demo, dynamodb, table, integration_id):
    """The first sync (queued when the integration was created), then the worker, as the
    DynamoDB stream would start it."""
    status, started = demo.invoke("sync-api", "POST", f"/integrations/{integration_id}/sync",
                                  note="Sync Now: creating the integration queued its first sync already, "
                                       "so this one is refused (one run at a time) and names the queued run")
    if status == 202:
        run_id = started["runId"]
    else:
        assert status == 409 and started.get("code") == "sync_in_progress", started
        run_id = started["activeRunId"]
    item = dynamodb.get_item(TableName=table, Key={"PK": {"S": f"TENANT#{TENANT}#INTEGRATION#{integration_id}"},
                                                   "SK": {"S": f"RUN#{run_id}"}})["Item"]
    stream_event = {"Records": [{"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
                                 "awsRegion": "us-east-1", "dynamodb": {"Keys": {"PK": item["PK"], "SK": item["SK"]},
                                                                         "NewImage": item, "StreamViewType": "NEW_IMAGE"}}]}
    demo.step += 1
    print(f"\n[{demo.step}] The sync worker, handed the queued run by the DynamoDB stream")
    out = subprocess.run(["cargo", "lambda", "invoke", "sync-worker", "-A", "127.0.0.1", "-P", str(demo.watch_port),
                          "--data-ascii", json.dumps(stream_event)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"cargo lambda invoke sync-worker failed:\n{out.stderr}")
    print(f"    -> {out.stdout.strip()}")
    demo.invoke("sync-api", "GET", f"/integrations/{integration_id}/sync-runs/{run_id}",
                note="The run: status, phase and counts")


def quick_match(demo, integration_id):
    """Companies for some of the synced sites, then quick match."""
    _, table = demo.invoke("site-mappings", "GET", f"/integrations/{integration_id}/sites?mapped=false",
                           note="The mapping table after the sync: every site unmapped", quiet=True)
    sites = table["sites"]
    print(f"    ({len(sites)} sites, e.g. " + ", ".join(repr(s["name"]) for s in sites[:4]) + ")")
    # Companies as a PSA would name them: some sites' names with a legal suffix, plus one unrelated company.
    for site in sites[: len(sites) // 2]:
        name = site["name"].split(" - ")[0].split(" (")[0] + " LLC"
        demo.invoke("companies", "POST", "/companies", {"name": name}, quiet=True)
    demo.invoke("companies", "POST", "/companies", {"name": "Completely Unrelated Holdings"}, quiet=True)
    print(f"    (created {len(sites) // 2 + 1} companies)")
    _, report = demo.invoke("quick-match", "POST", f"/integrations/{integration_id}/quick-match",
                            note="Quick match: maps what it is sure of (confidence >= 70)", quiet=True)
    for row in report["mapped"][:6]:
        print(f"    mapped     {row['siteName']!r:40} -> {row['company']['name']!r} ({row['confidence']}, {row['reason']})")
    for row in report["suggested"][:3]:
        print(f"    suggested  {row['siteName']!r:40} -> {row['company']['name']!r} ({row['confidence']})")
    print(f"    {len(report['mapped'])} mapped, {len(report['suggested'])} suggested, "
          f"{len(report['noCandidate'])} without a candidate, {report['skipped']} left alone")


def run_import_job(demo, integration_id, job_id):
    """The device-import worker, handed the queued job as the DynamoDB stream would."""
    stream = {"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": {
        "PK": {"S": f"TENANT#{TENANT}#INTEGRATION#{integration_id}"}, "SK": {"S": f"IMPORTJOB#{job_id}"},
        "entity": {"S": "import-job"}, "status": {"S": "queued"}, "tenant": {"S": TENANT},
        "integrationId": {"S": integration_id}, "runId": {"S": job_id}}}}]}
    print("\n    (the DynamoDB stream hands the queued job to device-import-worker)")
    status, out = demo.invoke_event("device-import-worker", stream)
    if status != 200:
        sys.exit(f"device-import-worker failed: {out}")
    print("    -> " + out)


def devices(demo, integration_id):
    """Device types: map the most common Datto type, look at the staged devices, import the type, list assets."""
    _, portal = demo.invoke("device-types", "GET", "/device-types", note="The portal's device types (defaults)", quiet=True)
    print("    " + ", ".join(t["name"] for t in portal["deviceTypes"]))
    _, table = demo.invoke("device-types", "GET", f"/integrations/{integration_id}/device-types",
                           note="Datto device types of the integration, with counts", quiet=True)
    for row in table["deviceTypes"][:6]:
        print(f"    {row['category'] + '/' + row['deviceType']:32} {row['deviceCount']:4} devices  maps to {row['mapsTo']}")
    top = table["deviceTypes"][0]
    target = next((t for t in portal["deviceTypes"] if t["name"].lower() == top["deviceType"].lower()),
                  next(t for t in portal["deviceTypes"] if t["id"] == "other"))
    pick = {"category": top["category"], "deviceType": top["deviceType"]}
    demo.invoke("device-types", "PUT", f"/integrations/{integration_id}/device-types",
                dict(pick, mapsTo=None, autoSync=True), note="Auto-sync without a mapping is refused, with the reason")
    demo.invoke("device-types", "PUT", f"/integrations/{integration_id}/device-types",
                dict(pick, mapsTo=target["id"], autoSync=True),
                note=f"Map the most common type to {target['name']!r}, with auto-sync")
    _, staged = demo.invoke("device-import", "GET", f"/integrations/{integration_id}/staged-devices?limit=5",
                            note="Staged devices: the devices of mapped sites (first page of 5)", quiet=True)
    for d in staged["devices"]:
        print(f"    {d['hostname'] or '?':20} {d['category'] + '/' + d['deviceType']:24} {d['site']['name']!r:34} "
              f"-> {d['company']['name']!r:30} {d['status']}")
    unmapped = next((d for d in staged["devices"] if (d["category"], d["deviceType"]) != (top["category"], top["deviceType"])), None)
    if unmapped:
        _, job = demo.invoke("device-import", "POST", f"/integrations/{integration_id}/import",
                             {"deviceUids": [unmapped["deviceUid"], "no-such-device"]},
                             note="Import two devices by uid: the call queues a job and answers at once (202)")
        run_import_job(demo, integration_id, job["jobId"])
        demo.invoke("device-import", "GET", f"/integrations/{integration_id}/import-jobs/{job['jobId']}/results",
                    note="Its per-device results: an unmapped type and an unknown uid each fail with the reason")
    _, job = demo.invoke("device-import", "POST", f"/integrations/{integration_id}/import", pick,
                         note=f"Import every staged {top['category']}/{top['deviceType']}: queued as a job", quiet=True)
    run_import_job(demo, integration_id, job["jobId"])
    _, done = demo.invoke("device-import", "GET", f"/integrations/{integration_id}/import-jobs/{job['jobId']}",
                          note="The job: status, progress and counts", quiet=True)
    counts = done["counts"]
    print(f"    {done['status']} ({done['percent']}%): {counts['imported']} imported, {counts['failed']} failed, "
          f"{counts['writes']} DynamoDB writes, {done['invocations']} worker invocation(s)")
    _, page = demo.invoke("device-import", "GET",
                          f"/integrations/{integration_id}/import-jobs/{job['jobId']}/results?limit=3",
                          note="Its per-device results, a page at a time (first page of 3)", quiet=True)
    for r in page["results"]:
        print(f"    {r['deviceUid']}  {r['status']}  {r.get('assetId') or r.get('reason')}")
    _, assets = demo.invoke("assets", "GET", "/assets?limit=3", note="The portal's assets (first page of 3)", quiet=True)
    for a in assets["assets"]:
        print(f"    {a['hostname']:20} {a['deviceType']['name']:16} {a['manufacturer'] or '-':20} {a['model'] or '-':24} "
              f"serial {a['serialNumber'] or '-':14} company {a['companyId']}")
    if assets["assets"]:
        company = assets["assets"][0]["companyId"]
        _, mine = demo.invoke("assets", "GET", f"/companies/{company}/assets", note="One company's assets", quiet=True)
        print(f"    {len(mine['assets'])} assets")


def autotask_api(at, method, path, body=None):
    req = urllib.request.Request(f"{at}/ATServicesRest/V1.0/{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"ApiIntegrationCode": AT_CODE, "UserName": AT_USER, "Secret": AT_SECRET,
                                          "Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=10).read())


def post_json(url, body):
    req = urllib.request.Request(url, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=10).read() or b"null")


def psa(demo, at):
    """Autotask: connect, preview the import, exclude one company, apply it through the worker."""
    creds = {"type": "autotask", "username": AT_USER, "secret": AT_SECRET}
    demo.invoke("integrations", "POST", "/integrations/autotask/test", {"username": "nobody@msp.example", "secret": "x"},
                note="Autotask Test Connection with an unknown API user")
    demo.invoke("integrations", "POST", "/integrations/autotask/test", dict(creds, secret="wrong"),
                note="Autotask Test Connection with a wrong secret")
    status, created = demo.invoke("integrations", "POST", "/integrations", creds,
                                  note="Connect Autotask: tested, credentials to Secrets Manager")
    assert status == 201, created
    psa_id = created["id"]
    _, preview = demo.invoke("psa-import", "POST", f"/integrations/{psa_id}/psa-import/preview?kind=company&limit=6",
                             note="Import preview: what happens to each PSA record (first 6 companies)", quiet=True)
    for kind, c in preview["counts"].items():
        print(f"    {kind:14} {c['total']:4} records: {c['matched']} match, {c['created']} create, {c['excluded']} exclude")
    for r in preview["records"]:
        print(f"    {r['record']['name']:40} {r['action']:8} {r.get('reason') or r.get('basis') or ''}")
    first = preview["records"][0]["record"]
    demo.invoke("psa-import", "PUT", f"/integrations/{psa_id}/psa-import/overrides",
                {"overrides": [{"kind": "company", "psaId": first["id"], "action": "exclude"}]},
                note=f"Exclude {first['name']!r} (and so its contacts, locations, configurations)", quiet=True)
    _, queued = demo.invoke("psa-import", "POST", f"/integrations/{psa_id}/psa-import/apply", note="Apply the import")
    run_id = queued["runId"]
    stream = {"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": {
        "PK": {"S": f"TENANT#{TENANT}#INTEGRATION#{psa_id}"}, "SK": {"S": f"PSARUN#{run_id}"},
        "entity": {"S": "psa-import-run"}, "status": {"S": "queued"}, "tenant": {"S": TENANT},
        "integrationId": {"S": psa_id}, "runId": {"S": run_id}}}}]}
    print("\n    (the DynamoDB stream hands the queued run to psa-import-worker)")
    print("    -> " + demo.invoke_event("psa-import-worker", stream)[1])
    _, run = demo.invoke("psa-import", "GET", f"/integrations/{psa_id}/psa-import/runs/{run_id}",
                         note="The run: status and counts per kind", quiet=True)
    print(f"    {run['status']}, {run['writes']} writes")
    for kind, c in run["counts"].items():
        print(f"    {kind:14} created {c['created']}, matched {c['matched']}, excluded {c['excluded']}")
    _, contacts = demo.invoke("psa-import", "GET", "/contacts?limit=3", note="Imported contacts (first 3)", quiet=True)
    for c in contacts["contacts"]:
        print(f"    {c['name']:30} {c.get('email') or '':36} company {c['companyId']}")
    return psa_id


def tickets(demo, integration_id, psa_id, sim, at):
    """Alerts to tickets and back, over HTTP: Datto webhook -> Autotask ticket -> callout -> alert resolved."""
    relay = Relay(demo)
    demo.invoke("tickets", "PUT", f"/integrations/{integration_id}/ticket-settings",
                {"psaIntegrationId": psa_id, "repeatWindow": "30m", "autotask": {"queueId": 8},
                 "priorities": {"critical": "4", "high": "1", "moderate": "2", "low": "3", "information": "3"}},
                note="Ticket settings: Autotask queue, priority mapping, a 30-minute repeat window")
    _, datto_hook = demo.invoke("tickets", "POST", f"/integrations/{integration_id}/hook-token",
                                note="A hook token for Datto RMM's alert webhook (shown once)", quiet=True)
    _, at_hook = demo.invoke("tickets", "POST", f"/integrations/{psa_id}/hook-token",
                             note="A hook token for Autotask's extension callout", quiet=True)
    post_json(f"{sim}/_sim/alert-webhook",
              {"url": f"{relay.url}{datto_hook['path']}?token={datto_hook['token']}", "headers": []})
    post_json(f"{at}/_sim/callout", {"url": f"{relay.url}{at_hook['path']}", "format": "form",
                                     "username": "rmmsync", "password": at_hook["token"]})
    print("    Datto RMM webhook and Autotask callout point at the hooks")
    # A site mapped to an Autotask company, and a device in it.
    _, companies = demo.invoke("companies", "GET", "/companies?limit=200", quiet=True)
    company = next(c for c in companies["companies"] if (c.get("psa") or {}).get("kind") == "autotask")
    _, table = demo.invoke("site-mappings", "GET", f"/integrations/{integration_id}/sites", quiet=True)
    site = next(r for r in table["sites"] if (r.get("deviceCount") or 0) > 0)
    demo.invoke("site-mappings", "PUT", f"/integrations/{integration_id}/sites/{site['siteUid']}/mapping",
                {"companyId": company["id"]}, note=f"Map site {site['name']!r} to the Autotask company {company['name']!r}",
                quiet=True)
    device_uid = site_device(sim, site["siteUid"])
    print(f"\n[{demo.step + 1}] Datto RMM raises a Critical disk alert on a device of that site")
    demo.step += 1
    alert = post_json(f"{sim}/_sim/alerts", {"deviceUid": device_uid, "priority": "Critical", "monitor": "disk_usage_ctx"})
    relay.wait(1)
    found = autotask_api(at, "POST", "Tickets/query", {"filter": [{"op": "eq", "field": "rmmAlertID", "value": alert["alertUid"]}]})
    ticket = found["items"][0]
    print(f"    Autotask ticket {ticket['ticketNumber']} (id {ticket['id']}): {ticket['title']!r}, priority {ticket['priority']}, status {ticket['status']}")
    print(f"\n[{demo.step + 1}] The same monitor fires again within the window")
    demo.step += 1
    post_json(f"{sim}/_sim/alerts", {"deviceUid": device_uid, "priority": "Critical", "monitor": "disk_usage_ctx"})
    relay.wait(2)
    notes = autotask_api(at, "POST", "TicketNotes/query", {"filter": [{"op": "eq", "field": "ticketID", "value": ticket["id"]}]})
    print(f"    no new ticket; ticket {ticket['id']} now has {len(notes['items'])} note(s)")
    print(f"\n[{demo.step + 1}] A technician completes the ticket in Autotask; its workflow rule calls out")
    demo.step += 1
    open_before = json.loads(urllib.request.urlopen(f"{sim}/_sim/info", timeout=5).read())["openAlerts"]
    post_json(f"{at}/_sim/tickets/{ticket['id']}/complete", {})
    relay.wait(3)
    time.sleep(1)
    open_after = json.loads(urllib.request.urlopen(f"{sim}/_sim/info", timeout=5).read())["openAlerts"]
    print(f"    open alerts in Datto RMM: {open_before} -> {open_after} (both alerts of the ticket resolved)")
    time.sleep(2)
    print(f"    every hook delivery: {[(name, status) for name, status, _ in relay.seen]}")
    relay.server.shutdown()


def site_device(sim, site_uid):
    """A device of a site, through the simulator's Datto API (as any client would)."""
    token = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{sim}/{PLATFORM}/auth/oauth/token", method="POST",
        data=urllib.parse.urlencode({"grant_type": "password", "username": API_KEY, "password": API_SECRET}).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(b"public-client:public").decode(),
                 "Content-Type": "application/x-www-form-urlencoded"}), timeout=10).read())["access_token"]
    page = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{sim}/{PLATFORM}/api/v2/site/{site_uid}/devices", headers={"Authorization": f"Bearer {token}"}),
        timeout=10).read())
    return page["devices"][0]["uid"]


def main():
    stack = Stack()
    try:
        moto_port, sim_port, watch_port, at_port = free_port(), free_port(), free_port(), free_port()
        moto = f"http://127.0.0.1:{moto_port}"
        print(f"==> moto on {moto}")
        stack.start("moto", [str(VENV_BIN / "python"), str(ROOT / "scripts" / "moto_server.py"), "-H", "127.0.0.1", "-p", str(moto_port)])
        wait_for("moto", lambda: http_ok(moto + "/moto-api/"))

        sim = f"http://127.0.0.1:{sim_port}"
        print(f"==> Datto RMM simulator on {sim} (platform {PLATFORM}, 25 sites, 400 devices)")
        stack.start("datto-rmm-sim", [str(ROOT / "target" / "debug" / "datto-rmm-sim"), "--port", str(sim_port),
                                      "--platform", PLATFORM, "--api-key", API_KEY, "--api-secret", API_SECRET,
                                      "--sites", "25", "--devices", "400", "--seed", "7"])
        wait_for("the simulator", lambda: http_ok(sim + "/_sim/info"))

        at = f"http://127.0.0.1:{at_port}"
        print(f"==> Autotask simulator on {at} (40 companies)")
        stack.start("autotask-sim", [str(ROOT / "target" / "debug" / "autotask-sim"), "--port", str(at_port),
                                     "--username", AT_USER, "--integration-code", AT_CODE, "--companies", "40",
                                     "--seed", "7"], env=dict(os.environ, AUTOTASK_SIM_SECRET=AT_SECRET))
        wait_for("the Autotask simulator", lambda: http_ok(at + "/_sim/info"))

        table = "rmmsync-demo"
        env = dict(os.environ, AWS_ENDPOINT_URL=moto, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", TABLE_NAME=table,
                   DATTO_RMM_BASE_URL_TEMPLATE=sim + "/{platform}", RUST_LOG="info",
                   AUTOTASK_ZONE_URL=at + "/atservicesrest/v1.0/zoneInformation", AUTOTASK_REST_DOMAINS="127.0.0.1",
                   AUTOTASK_INTEGRATION_CODE=AT_CODE,
                   PATH=f"{VENV_BIN}:{os.environ['PATH']}")
        dynamodb = boto3.client("dynamodb", endpoint_url=moto, region_name="us-east-1",
                                aws_access_key_id="testing", aws_secret_access_key="testing")
        dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                                    for n in ("PK", "SK", "GSI1PK", "GSI1SK")],
                              KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                                         {"AttributeName": "SK", "KeyType": "RANGE"}],
                              GlobalSecondaryIndexes=[{"IndexName": "GSI1", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                                       "KeySchema": [{"AttributeName": "GSI1PK", "KeyType": "HASH"},
                                                                     {"AttributeName": "GSI1SK", "KeyType": "RANGE"}]}])
        print(f"==> DynamoDB table {table} created in moto (as infra/template.yaml defines it)")

        print(f"==> cargo lambda watch on 127.0.0.1:{watch_port} (functions run as Lambda binaries)")
        stack.start("cargo-lambda-watch", [str(VENV_BIN / "cargo-lambda"), "lambda", "watch", "-A", "127.0.0.1",
                                           "-P", str(watch_port)], env=env)
        wait_for("cargo lambda watch", lambda: port_open(watch_port))
        os.environ["PATH"] = env["PATH"]

        demo = Demo(watch_port)
        creds = {"platform": PLATFORM, "apiKey": API_KEY, "apiSecret": API_SECRET}
        demo.invoke("integrations", "POST", "/integrations/datto-rmm/test", dict(creds, apiSecret="not-the-secret"),
                    note="Test Connection with a wrong secret key: Datto refuses the keys")
        demo.invoke("integrations", "POST", "/integrations/datto-rmm/test", dict(creds, platform="syrah"),
                    note="Test Connection on the wrong platform: rmmsync finds the right one")
        demo.invoke("integrations", "POST", "/integrations/datto-rmm/test", {"platform": "malbec", "apiKey": "x"},
                    note="A request with an unknown platform and a missing key")
        demo.invoke("integrations", "POST", "/integrations/datto-rmm/test", creds, note="Test Connection with good keys")
        status, created = demo.invoke("integrations", "POST", "/integrations", dict(creds, name="Demo MSP RMM"),
                                      note="Create the integration: keys to Secrets Manager, the ARN to DynamoDB")
        assert status == 201, created
        integration_id = created["id"]
        demo.invoke("integrations", "GET", "/integrations", note="List the tenant's integrations")
        demo.invoke("integrations", "GET", f"/integrations/{integration_id}", tenant="another-msp",
                    note="Another tenant asks for it: not found, nothing revealed")
        demo.invoke("integrations", "PUT", f"/integrations/{integration_id}/credentials",
                    {"apiKey": API_KEY, "apiSecret": API_SECRET}, note="Rotate the keys (tested before they replace the old ones)")

        item = dynamodb.get_item(TableName=table, Key={"PK": {"S": f"TENANT#{TENANT}"}, "SK": {"S": f"INTEGRATION#{integration_id}"}})["Item"]
        secrets = boto3.client("secretsmanager", endpoint_url=moto, region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
        stored = json.loads(secrets.get_secret_value(SecretId=item["secretArn"]["S"])["SecretString"])
        print("\n==> what is stored")
        print(f"    DynamoDB item attributes: {sorted(item)}  (no key material)")
        print(f"    Secrets Manager {item['secretArn']['S'].split(':secret:')[1]}: fields {sorted(stored)} (values not shown)")
        stats = json.loads(urllib.request.urlopen(sim + "/_sim/stats", timeout=5).read())
        print(f"    Datto RMM simulator saw {stats.get('total_requests', '?')} requests")

        run_sync(demo, dynamodb, table, integration_id)
        quick_match(demo, integration_id)
        devices(demo, integration_id)
        psa_id = psa(demo, at)
        tickets(demo, integration_id, psa_id, sim, at)

        demo.invoke("integrations", "DELETE", f"/integrations/{integration_id}",
                    note="Delete it: items removed, secret scheduled for deletion")
        demo.invoke("integrations", "DELETE", f"/integrations/{psa_id}",
                    note="Delete the Autotask integration too (imported companies and contacts stay)")
        demo.invoke("integrations", "GET", "/integrations", note="The list is empty again")
        _, assets = demo.invoke("assets", "GET", "/assets?limit=1", note="Imported assets stay, no longer linked",
                                quiet=True)
        for a in assets["assets"]:
            print(f"    {a['hostname']}: source {a['source']}")
        print("\n==> demo finished; logs of every process are in .local/")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
