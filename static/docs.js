// Swagger UI (static/swagger-ui/, vendored from npm's swagger-ui-dist) on /openapi.json.
// Nothing leaves this origin: no validator badge, no remote specs from the query string.
"use strict";

window.addEventListener("DOMContentLoaded", () => {
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // "Try it out" is open from the start; requests go to this server only.
    tryItOutEnabled: true,
    validatorUrl: null,
    queryConfigEnabled: false,
    persistAuthorization: false,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
  });
});
