"""Reflects the feed with python-odata, a real OData v4 client, and prints what it understood
as JSON: for every entity set, its entity type's properties (name, Edm type, key or not) and
navigation property names. Usage: python_odata_reflect.py SERVICE_ROOT, with the access
token in the environment variable ODATA_FEED_TOKEN."""
import json
import os
import sys

import requests
from odata import ODataService

session = requests.Session()
session.headers["Authorization"] = "Bearer " + os.environ["ODATA_FEED_TOKEN"]
service = ODataService(sys.argv[1], session=session, reflect_entities=True, quiet_progress=True)
found = {}
for set_name, entity in service.entities.items():
    schema = entity.__odata_schema__
    found[set_name] = {
        "type": schema["type"],
        "properties": [[p["name"], p["type"], p["is_primary_key"]] for p in schema["properties"]],
        "navigation": [n["name"] for n in schema["navigation_properties"]],
    }
print(json.dumps(found, sort_keys=True))
