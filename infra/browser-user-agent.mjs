// Replaces bowser in the Lambda bundles (esbuild alias, infra/function-bundling.ts). The SDK
// imports bowser only from its browser user-agent provider, which Node never calls; if it
// ever did, an empty module is the case the SDK already handles (`parse` missing: no parse).
export default {};
