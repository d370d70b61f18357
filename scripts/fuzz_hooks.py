"""schemathesis hooks of scripts/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

- Real objects: an ``{id}`` drawn at random names nothing, and every detail route would only ever
  answer 404. Three generated integer ids in four are replaced by the id of an object that exists
  (read from the list route with the fuzzer's token), so that updates, deletions and the actions
  (allocate, transition, reconcile...) run on real objects; the others, and every id that is not a
  non-negative integer, are sent as drawn.
- The fuzzer's own credentials: a write that deletes, deactivates or demotes the demo admin, or
  revokes or restricts the token the fuzzer uses, would turn every later request into a 401 and hide
  whatever the rest of the run would find. Such cases are not sent (a bulk write of the list route
  naming them either); reads of them are.
"""

import json
import os
import re
import urllib.request

import schemathesis

BASE_URL = os.environ.get("FUZZ_BASE_URL", "")
TOKEN = os.environ.get("FUZZ_TOKEN", "")
PROTECTED = {
    "/api/users/users/": os.environ.get("FUZZ_USER_ID", ""),
    "/api/users/tokens/": os.environ.get("FUZZ_TOKEN_ID", ""),
}
READS = {"GET", "HEAD", "OPTIONS"}
DETAIL = re.compile(r"^(?P<collection>.*/)\{id\}/")

_known_ids: dict[str, list[int]] = {}


def collection_of(path: str) -> str | None:
    """``/api/ipam/prefix-pools/`` for ``/api/ipam/prefix-pools/{id}/allocate/``."""
    match = DETAIL.match(path)
    return match["collection"] if match else None


def known_ids(collection: str) -> list[int]:
    """Ids of the collection's objects when first asked (the fuzzer's own user and token left out)."""
    if collection not in _known_ids:
        request = urllib.request.Request(f"{BASE_URL}{collection}?limit=1000&brief=1",
                                         headers={"Authorization": f"Token {TOKEN}", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                results = json.load(response).get("results", [])
        except (OSError, ValueError):
            results = []
        skip = PROTECTED.get(collection, "")
        _known_ids[collection] = [row["id"] for row in results if str(row.get("id")) != skip]
    return _known_ids[collection]


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    value = (path_parameters or {}).get("id")
    collection = collection_of(context.operation.path)
    if collection is None or isinstance(value, bool) or not isinstance(value, int) or value < 0 or value % 4 == 0:
        return path_parameters
    ids = known_ids(collection)
    return {**path_parameters, "id": ids[value % len(ids)]} if ids else path_parameters


def names_in_body(body) -> set[str]:
    """The ids a bulk write (a list of objects with ids) names."""
    if not isinstance(body, list):
        return set()
    return {str(item.get("id")) for item in body if isinstance(item, dict)}


@schemathesis.hook
def filter_case(context, case):
    if case.method.upper() in READS:
        return True
    path = case.operation.path
    if path in PROTECTED:  # a bulk write of the list route
        return not PROTECTED[path] or PROTECTED[path] not in names_in_body(getattr(case, "body", None))
    collection = collection_of(path)
    protected = PROTECTED.get(collection or "")
    return not protected or str((case.path_parameters or {}).get("id")) != protected
