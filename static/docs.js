/**
 * A small, local renderer of /openapi.json: operations grouped by tag, with parameters,
 * request bodies and responses, schemas resolved from components. All text goes in as text.
 */

import { h } from "./dom.js";

const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];
const MAX_DEPTH = 4;

/** Paragraphs and `code` spans from an OpenAPI (CommonMark) description; everything else as text. */
function prose(text, className = "description") {
  if (!text) return null;
  const paragraphs = String(text).trim().split(/\n\s*\n/);
  return h(
    "div",
    { className },
    paragraphs.map((paragraph) =>
      h("p", {}, paragraph.split(/(`[^`]+`)/).map((part) => (part.startsWith("`") && part.endsWith("`") && part.length > 1 ? h("code", {}, part.slice(1, -1)) : part))),
    ),
  );
}

function slug(text) {
  return String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

class Reference {
  constructor(spec) {
    this.spec = spec;
    this.schemas = spec.components?.schemas ?? {};
  }

  /** Follow a local JSON pointer ("#/components/schemas/Inbox"). */
  resolve(ref) {
    if (typeof ref !== "string" || !ref.startsWith("#/")) return null;
    let node = this.spec;
    for (const raw of ref.slice(2).split("/")) {
      const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      node = node?.[key];
    }
    return node ?? null;
  }

  /** An object that may be a $ref (parameter, response, request body), resolved once or twice. */
  deref(node) {
    let current = node;
    for (let hops = 0; current?.$ref && hops < 5; hops += 1) current = this.resolve(current.$ref);
    return current ?? {};
  }

  refName(ref) {
    return ref.split("/").pop();
  }

  schemaLink(ref) {
    const name = this.refName(ref);
    return ref.startsWith("#/components/schemas/") ? h("a", { href: `#schema-${slug(name)}` }, name) : h("span", {}, name);
  }

  /** A short type label: "string (date-time)", "array of Attachment", "string | null". */
  typeLabel(schema) {
    if (!schema || typeof schema !== "object") return h("span", { className: "type" }, "any");
    if (schema.$ref) return h("span", { className: "type" }, this.schemaLink(schema.$ref));
    const parts = [];
    const variants = schema.oneOf ?? schema.anyOf;
    if (variants) {
      variants.forEach((variant, index) => {
        if (index) parts.push(" | ");
        parts.push(this.typeLabel(variant));
      });
      return h("span", { className: "type" }, parts);
    }
    if (schema.allOf) {
      schema.allOf.forEach((variant, index) => {
        if (index) parts.push(" & ");
        parts.push(this.typeLabel(variant));
      });
      return h("span", { className: "type" }, parts);
    }
    const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
    if (types.length === 0 && schema.properties) types.push("object");
    if (types.length === 0 && "const" in schema) types.push(typeof schema.const);
    types.forEach((type, index) => {
      if (index) parts.push(" | ");
      if (type === "array") parts.push("array of ", this.typeLabel(schema.items));
      else parts.push(type);
    });
    if (parts.length === 0) parts.push("any");
    if (schema.format) parts.push(` (${schema.format})`);
    return h("span", { className: "type" }, parts);
  }

  /** Constraints and defaults in words. */
  constraints(schema) {
    if (!schema || schema.$ref) return null;
    const notes = [];
    const json = (value) => JSON.stringify(value);
    if (schema.enum) notes.push(`one of ${schema.enum.map(json).join(", ")}`);
    if ("const" in schema) notes.push(`always ${json(schema.const)}`);
    if ("minimum" in schema) notes.push(`≥ ${schema.minimum}`);
    if ("exclusiveMinimum" in schema) notes.push(`> ${schema.exclusiveMinimum}`);
    if ("maximum" in schema) notes.push(`≤ ${schema.maximum}`);
    if ("exclusiveMaximum" in schema) notes.push(`< ${schema.exclusiveMaximum}`);
    if ("minLength" in schema) notes.push(`at least ${schema.minLength} characters`);
    if ("maxLength" in schema) notes.push(`at most ${schema.maxLength} characters`);
    if ("minItems" in schema) notes.push(`at least ${schema.minItems} items`);
    if ("maxItems" in schema) notes.push(`at most ${schema.maxItems} items`);
    if (schema.pattern) notes.push(`matches ${schema.pattern}`);
    if ("default" in schema) notes.push(`default ${json(schema.default)}`);
    const example = schema.examples?.[0] ?? schema.example;
    if (example !== undefined) notes.push(`e.g. ${json(example)}`);
    return notes.length ? h("span", { className: "constraints" }, notes.join(" · ")) : null;
  }

  /** The object schema behind a schema, if it has properties worth a table (following refs, arrays, allOf). */
  objectOf(schema, seen) {
    let current = schema;
    for (let hops = 0; current && hops < 6; hops += 1) {
      if (current.$ref) {
        if (seen.has(current.$ref)) return null;
        current = this.resolve(current.$ref);
      } else if (current.type === "array" || (Array.isArray(current.type) && current.type.includes("array"))) {
        current = current.items;
      } else if (current.allOf) {
        const merged = { type: "object", properties: {}, required: [] };
        for (const part of current.allOf) {
          const object = this.objectOf(part, seen);
          if (object) {
            Object.assign(merged.properties, object.properties);
            merged.required.push(...(object.required ?? []));
          }
        }
        return merged;
      } else {
        return current.properties ? current : null;
      }
    }
    return null;
  }

  /** A table of an object's properties; nested objects fold out below their row. */
  propertiesTable(object, depth, seen) {
    const required = new Set(object.required ?? []);
    const rows = Object.entries(object.properties ?? {}).map(([name, property]) => {
      const nested = depth < MAX_DEPTH ? this.nested(property, depth + 1, seen) : null;
      return h(
        "tr",
        {},
        h("td", {}, h("code", {}, name), required.has(name) ? h("span", { className: "required" }, "required") : null),
        h("td", {}, this.typeLabel(property)),
        h("td", {}, property.description ?? this.deref(property).description ?? "", this.constraints(property), nested),
      );
    });
    const extra = object.additionalProperties;
    if (extra && typeof extra === "object") {
      rows.push(h("tr", {}, h("td", {}, h("em", {}, "any other key")), h("td", {}, this.typeLabel(extra)), h("td", {})));
    }
    if (rows.length === 0) return h("p", { className: "constraints" }, "An object with no fixed properties.");
    return h(
      "div",
      { className: "table-wrap" },
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Field"), h("th", {}, "Type"), h("th", {}, "Description"))), h("tbody", {}, rows)),
    );
  }

  nested(schema, depth, seen) {
    const refs = new Set(seen);
    if (schema.$ref) refs.add(schema.$ref);
    if (schema.items?.$ref) refs.add(schema.items.$ref);
    const object = this.objectOf(schema, seen);
    if (!object) return null;
    return h("details", { className: "nested" }, h("summary", {}, "Fields"), this.propertiesTable(object, depth, refs));
  }

  /** A schema in full: its type, and its fields when it is (an array of) an object. */
  schemaBlock(schema) {
    if (!schema) return null;
    const seen = new Set(schema.$ref ? [schema.$ref] : []);
    if (schema.items?.$ref) seen.add(schema.items.$ref);
    const object = this.objectOf(schema, new Set());
    const table = object ? this.propertiesTable(object, 1, seen) : null;
    return h(
      "div",
      { className: "schema" },
      h("p", {}, "Type: ", this.typeLabel(schema), this.constraints(schema)),
      table,
    );
  }
}

function parametersOf(reference, pathItem, operation) {
  const byKey = new Map();
  for (const raw of [...(pathItem.parameters ?? []), ...(operation.parameters ?? [])]) {
    const parameter = reference.deref(raw);
    byKey.set(`${parameter.in}:${parameter.name}`, parameter);
  }
  return [...byKey.values()];
}

function renderParameters(reference, parameters) {
  if (parameters.length === 0) return [];
  const rows = parameters.map((parameter) =>
    h(
      "tr",
      {},
      h("td", {}, h("code", {}, parameter.name), parameter.required ? h("span", { className: "required" }, "required") : null),
      h("td", {}, parameter.in),
      h("td", {}, reference.typeLabel(parameter.schema)),
      h("td", {}, parameter.description ?? "", reference.constraints(parameter.schema)),
    ),
  );
  return [
    h("h3", {}, "Parameters"),
    h(
      "div",
      { className: "table-wrap" },
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "In"), h("th", {}, "Type"), h("th", {}, "Description"))), h("tbody", {}, rows)),
    ),
  ];
}

function renderContent(reference, content) {
  return Object.entries(content ?? {}).map(([mediaType, media]) =>
    h("div", { className: "media" }, h("p", { className: "media-type" }, mediaType), reference.schemaBlock(media.schema)),
  );
}

function renderRequestBody(reference, operation) {
  if (!operation.requestBody) return [];
  const body = reference.deref(operation.requestBody);
  return [
    h("h3", {}, "Request body"),
    h("p", {}, body.required ? "Required." : "Optional.", " ", body.description ?? ""),
    ...renderContent(reference, body.content),
  ];
}

function responseHeaders(reference, response) {
  const headers = Object.entries(response.headers ?? {}).map(([name, header]) => {
    const resolved = reference.deref(header);
    return h("li", {}, h("code", {}, name), " ", reference.typeLabel(resolved.schema), resolved.description ? ` — ${resolved.description}` : "");
  });
  return headers.length ? h("ul", { className: "response-headers" }, headers) : null;
}

/** Successful responses in full; the rest (mostly one shared error body) as one compact table. */
function renderResponses(reference, operation) {
  const entries = Object.entries(operation.responses ?? {}).map(([status, raw]) => [status, reference.deref(raw)]);
  if (entries.length === 0) return [];
  const successes = entries.filter(([status]) => status.startsWith("2"));
  const others = entries.filter(([status]) => !status.startsWith("2"));
  const blocks = successes.map(([status, response]) =>
    h(
      "div",
      { className: "response", dataset: { class: status[0] } },
      h("p", {}, h("span", { className: "status-code" }, status), response.description ?? ""),
      responseHeaders(reference, response),
      ...renderContent(reference, response.content),
    ),
  );
  const rows = others.map(([status, response]) =>
    h(
      "tr",
      {},
      h("td", {}, h("span", { className: "status-code" }, status)),
      h("td", {}, response.description ?? "", responseHeaders(reference, response)),
      h("td", {}, Object.values(response.content ?? {}).map((media) => reference.typeLabel(media.schema))),
    ),
  );
  return [
    h("h3", {}, "Responses"),
    ...blocks,
    rows.length
      ? h(
          "div",
          { className: "table-wrap" },
          h("table", { className: "other-responses" }, h("thead", {}, h("tr", {}, h("th", {}, "Status"), h("th", {}, "Meaning"), h("th", {}, "Body"))), h("tbody", {}, rows)),
        )
      : null,
  ];
}

function securityNote(spec, operation) {
  const requirements = operation.security ?? spec.security ?? [];
  const named = requirements.flatMap((requirement) => Object.keys(requirement));
  if (named.length === 0) return null;
  const schemes = spec.components?.securitySchemes ?? {};
  const bearer = named.some((name) => schemes[name]?.scheme?.toLowerCase() === "bearer");
  return h(
    "p",
    { className: "auth-note" },
    bearer ? ["Needs ", h("code", {}, "Authorization: Bearer <token>")] : `Needs authentication: ${named.join(", ")}`,
  );
}

function curlExample(method, path, operation, needsAuth) {
  const parts = [`curl -X ${method.toUpperCase()} '${window.location.origin}${path}'`];
  if (needsAuth) parts.push("-H 'Authorization: Bearer $TOKEN'");
  if (operation.requestBody) parts.push("-H 'Content-Type: application/json' -d '{}'");
  return h("pre", { className: "example" }, h("code", {}, parts.join(" \\\n  ")));
}

/** A path with break opportunities after each slash, so long paths wrap at sensible places. */
function pathText(path) {
  return path.split("/").flatMap((segment, index) => (index === 0 ? [segment] : ["/", h("wbr"), segment]));
}

function operationId(method, path) {
  return `op-${method}-${slug(path)}`;
}

function renderOperation(reference, method, path, pathItem, operation) {
  const needsAuth = securityNote(reference.spec, operation);
  return h(
    "details",
    { className: "operation", id: operationId(method, path), open: true },
    h(
      "summary",
      {},
      h("span", { className: `method method-${method}` }, method),
      h("span", { className: "path" }, pathText(path)),
      operation.summary ? h("span", { className: "summary-text" }, operation.summary) : null,
    ),
    h(
      "div",
      { className: "operation-body" },
      operation.deprecated ? h("p", { className: "required" }, "Deprecated.") : null,
      needsAuth,
      prose(operation.description),
      ...renderParameters(reference, parametersOf(reference, pathItem, operation)),
      ...renderRequestBody(reference, operation),
      ...renderResponses(reference, operation),
      h("h3", {}, "Example"),
      curlExample(method, path, operation, Boolean(needsAuth)),
    ),
  );
}

/** Operations grouped by their first tag, in the spec's tag order; untagged ones last. */
function groupByTag(spec) {
  const groups = new Map((spec.tags ?? []).map((tag) => [tag.name, { tag, operations: [] }]));
  for (const [path, pathItem] of Object.entries(spec.paths ?? {})) {
    for (const method of METHODS) {
      const operation = pathItem[method];
      if (!operation) continue;
      const name = operation.tags?.[0] ?? "other";
      if (!groups.has(name)) groups.set(name, { tag: { name }, operations: [] });
      groups.get(name).operations.push({ method, path, pathItem, operation });
    }
  }
  return [...groups.values()].filter((group) => group.operations.length > 0);
}

function render(spec) {
  const reference = new Reference(spec);
  const groups = groupByTag(spec);
  const content = document.getElementById("content");
  const toc = document.getElementById("toc");

  const sections = groups.map(({ tag, operations }) =>
    h(
      "section",
      { className: "tag-section", id: `tag-${slug(tag.name)}`, "aria-labelledby": `tag-title-${slug(tag.name)}` },
      h("h2", { id: `tag-title-${slug(tag.name)}` }, tag.name),
      prose(tag.description, "tag-description"),
      operations.map(({ method, path, pathItem, operation }) => renderOperation(reference, method, path, pathItem, operation)),
    ),
  );
  const schemaNames = Object.keys(reference.schemas);
  const schemas = schemaNames.length
    ? h(
        "section",
        { className: "tag-section", id: "schemas", "aria-labelledby": "schemas-title" },
        h("h2", { id: "schemas-title" }, "Schemas"),
        schemaNames.map((name) =>
          h(
            "div",
            { className: "schema-card", id: `schema-${slug(name)}` },
            h("h3", {}, name),
            prose(reference.schemas[name].description),
            reference.schemaBlock({ $ref: `#/components/schemas/${name}` }),
          ),
        ),
      )
    : null;

  const info = spec.info ?? {};
  document.title = `${info.title ?? "API"} reference`;
  content.replaceChildren(
    h("h1", {}, info.title ?? "API reference"),
    h("p", { className: "version" }, `Version ${info.version ?? "?"} · OpenAPI ${spec.openapi ?? "?"}`),
    prose(info.description),
    ...sections,
    schemas,
  );

  toc.replaceChildren(
    h(
      "details",
      { open: window.matchMedia("(min-width: 60rem)").matches },
      h("summary", {}, "Endpoints"),
      groups.map(({ tag, operations }) => [
        h("h2", {}, tag.name),
        h(
          "ul",
          {},
          operations.map(({ method, path, operation }) =>
            h(
              "li",
              {},
              h(
                "a",
                { href: `#${operationId(method, path)}`, title: operation.summary ?? "" },
                h("span", { className: `method method-${method}` }, method),
                h("span", { className: "toc-path" }, pathText(path)),
              ),
            ),
          ),
        ),
      ]),
      schemaNames.length ? [h("h2", {}, "Reference"), h("ul", {}, h("li", {}, h("a", { href: "#schemas" }, "Schemas")))] : null,
    ),
  );
  // A link with a fragment that arrived before the content existed: go there now.
  if (window.location.hash) document.getElementById(decodeURIComponent(window.location.hash.slice(1)))?.scrollIntoView();
}

async function main() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("/openapi.json", { headers: { Accept: "application/json" }, credentials: "omit" });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    render(await response.json());
  } catch (error) {
    status.classList.add("error");
    status.textContent = `Could not load the API description (${error.message}). Reload the page to try again; /openapi.json has the raw spec.`;
  }
}

main();
