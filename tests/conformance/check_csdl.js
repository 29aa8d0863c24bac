// Semantic checks of the served CSDL with OASIS and SAP tooling (pinned in scripts/conformance-tools).
// Usage: node check_csdl.js METADATA.xml METADATA.json CSDL_JSON_SCHEMA
// Exit status 0 when every check passes; otherwise the problems are printed, one per line.
const fs = require("fs");
const [xmlPath, jsonPath, schemaPath] = process.argv.slice(2);
const xml = fs.readFileSync(xmlPath, "utf8");
const problems = [];

// 1. OASIS odata-csdl in strict mode: XML to JSON CSDL, throwing on semantic errors.
let converted = null;
try {
  converted = require("odata-csdl").xml2json(xml, { strict: true });
} catch (e) {
  problems.push("odata-csdl strict: " + e.message);
}

// 2. SAP's EDMX parser and annotation converter: no diagnostics, every set typed, every type keyed.
const { parse } = require("@sap-ux/edmx-parser");
const { convert } = require("@sap-ux/annotation-converter");
const model = convert(parse(xml));
// The converter resolves references lazily and records its diagnostics as it goes: touch every
// entity type, key, navigation target and binding first, then read the diagnostics.
for (const s of model.entitySets) {
  if (!s.entityType || !s.entityType.name) problems.push("sap-ux: entity set without type: " + s.name);
  for (const binding of s.navigationPropertyBinding ? Object.values(s.navigationPropertyBinding) : []) {
    if (!binding || !binding.name) problems.push("sap-ux: unresolved navigation binding in " + s.name);
  }
}
for (const t of model.entityTypes) {
  if (t.keys.length === 0) problems.push("sap-ux: entity type without key: " + t.fullyQualifiedName);
  for (const nav of t.navigationProperties) {
    if (!nav.targetType || !nav.targetType.name) problems.push("sap-ux: navigation without target type: " + t.name + "/" + nav.name);
  }
}
for (const d of model.diagnostics) problems.push("sap-ux: " + d.message);
if (model.entitySets.length === 0) problems.push("sap-ux: no entity sets found");

// 3. The CSDL JSON schema (ajv, ECMAScript Unicode regexes): the served JSON CSDL and the
//    odata-csdl conversion of the served XML.
const Ajv = require("ajv");
const addFormats = require("ajv-formats");
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, "utf8")));
const documents = [["served JSON CSDL", JSON.parse(fs.readFileSync(jsonPath, "utf8"))]];
if (converted) documents.push(["XML converted by odata-csdl", converted]);
for (const [name, doc] of documents) {
  if (!validate(doc)) {
    for (const e of validate.errors.slice(0, 20)) problems.push(`csdl.schema.json (${name}): ${e.instancePath} ${e.message}`);
  }
}

if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`ok: odata-csdl strict, sap-ux (${model.entitySets.length} sets), csdl.schema.json (${documents.length} documents)`);
