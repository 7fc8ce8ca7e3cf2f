// Tests run on Node 20; the AWS SDK's notice about its future Node 22 floor is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// Node's own modules (http, net, fs) throw errors made in the outer realm, which are not
// `instanceof Error` inside Jest's sandbox (jestjs/jest#2549). The AWS SDK then wraps them in a
// plain Error and drops `name` and `code`, so a connection reset would look unlike the one
// Lambda sees. Let the sandbox's Error (only Error itself, not its subclasses) recognise them.
const OuterError = (() => {
  try {
    require('node:fs').statSync('/nonexistent/registry-watcher-realm-probe');
  } catch (error) {
    return error.constructor;
  }
  return undefined;
})();
if (OuterError !== undefined && OuterError !== Error) {
  const ordinary = Function.prototype[Symbol.hasInstance];
  const SandboxError = Error;
  Object.defineProperty(SandboxError, Symbol.hasInstance, {
    value(candidate) {
      return (
        ordinary.call(this, candidate) ||
        (this === SandboxError && ordinary.call(OuterError, candidate))
      );
    },
  });
}
