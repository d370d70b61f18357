"""NetBox tooling works unchanged: the Ansible collection ``netbox.netbox`` against a live server.

Needs ``ansible-playbook`` with the collection (PyPI's ``ansible`` package bundles it; ``ansible-core``
alone does not): found through ``$ANSIBLE_PLAYBOOK`` or the ``PATH``, else the module is skipped. The
collection's modules run in this interpreter (``ansible_python_interpreter``), which has pynetbox.

Each playbook runs its tasks twice and asserts that the second run changes nothing (idempotence: the
modules find the object again by NetBox's filters and compare it field by field).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from catalog_site.models import Token
from ipam.models import Prefix
from tenancy.models import Tenant

pytestmark = pytest.mark.django_db(transaction=True)


def ansible_playbook() -> str | None:
    found = os.environ.get("ANSIBLE_PLAYBOOK") or shutil.which("ansible-playbook")
    if not found:
        return None
    doc = Path(found).with_name("ansible-doc")
    probe = subprocess.run([str(doc), "-t", "module", "netbox.netbox.netbox_tenant"], capture_output=True,
                           timeout=120, check=False)
    return found if probe.returncode == 0 else None


@pytest.fixture(scope="module")
def playbook():
    found = ansible_playbook()
    if found is None:
        pytest.skip("ansible-playbook with the netbox.netbox collection not found ($ANSIBLE_PLAYBOOK, PATH)")
    return found


@pytest.fixture
def netbox(playbook, live_server, admin_user):
    return {"netbox_url": live_server.url, "netbox_token": Token.issue(user=admin_user)[1], "playbook": playbook}


def has_route(netbox, app: str, endpoint: str) -> bool:
    root = requests.get(f"{netbox['netbox_url']}/api/{app}/",
                        headers={"Authorization": f"Token {netbox['netbox_token']}"}, timeout=30).json()
    return endpoint in root


def run_playbook(tmp_path, netbox, tasks: list[dict]) -> list[dict]:
    """Run ``tasks`` (each ``{"module": ..., "data": ..., "state": ...}``) twice; the results of each run."""
    playbook_path, connection = netbox["playbook"], {key: netbox[key] for key in ("netbox_url", "netbox_token")}
    steps = []
    for run in ("first", "second"):
        for number, task in enumerate(tasks):
            steps.append({
                "name": f"{run} {number} {task['module']}",
                f"netbox.netbox.{task['module']}": {**connection, "data": task["data"],
                                                    "state": task.get("state", "present")},
                "register": f"{run}_{number}",
            })
    steps.append({"name": "the second run changes nothing", "ansible.builtin.assert": {
        "that": [f"not second_{number}.changed" for number in range(len(tasks))]}})
    playbook = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
                 "vars": {"ansible_python_interpreter": sys.executable}, "tasks": steps}]
    path = tmp_path / "playbook.json"
    path.write_text(json.dumps(playbook))  # YAML is a superset of JSON
    env = {**os.environ, "ANSIBLE_LOCAL_TEMP": str(tmp_path / "local"), "ANSIBLE_REMOTE_TEMP": str(tmp_path / "remote"),
           "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_HOST_KEY_CHECKING": "0", "ANSIBLE_RETRY_FILES_ENABLED": "0"}
    result = subprocess.run([playbook_path, "-i", "localhost,", str(path)], capture_output=True, text=True, env=env,
                            timeout=600, check=False)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"ansible-playbook answered no JSON:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    outcomes = [task["hosts"]["localhost"] for play in report["plays"] for task in play["tasks"]]
    failed = [outcome for outcome in outcomes if outcome.get("failed")]
    assert result.returncode == 0 and not failed, json.dumps(failed or report.get("stats"), indent=1)[:5000]
    return outcomes


def test_tenants_sites_and_prefixes(tmp_path, netbox):
    tasks = [
        {"module": "netbox_tenant", "data": {"name": "Ansible Co", "slug": "ansible-co", "description": "by ansible"}},
        {"module": "netbox_prefix", "data": {"prefix": "10.60.0.0/24", "status": "active", "tenant": "ansible-co",
                                              "description": "by ansible"}},
    ]
    if has_route(netbox, "dcim", "sites"):
        tasks.append({"module": "netbox_site", "data": {"name": "Ansible Site", "slug": "ansible-site",
                                                        "status": "active", "tenant": "ansible-co"}})
    outcomes = run_playbook(tmp_path, netbox, tasks)
    assert all(outcome["changed"] for outcome in outcomes[:len(tasks)])
    tenant = Tenant.objects.get(slug="ansible-co")
    assert tenant.description == "by ansible"
    prefix = Prefix.objects.get(prefix="10.60.0.0/24")
    assert (prefix.tenant, prefix.status, prefix.description) == (tenant, "active", "by ansible")


def test_absent_deletes(tmp_path, netbox):
    Tenant.objects.create(name="Doomed", slug="doomed")
    run_playbook(tmp_path, netbox, [{"module": "netbox_tenant", "data": {"name": "Doomed"}, "state": "absent"}])
    assert not Tenant.objects.filter(slug="doomed").exists()
