/**
 * Project lint rules (`deno lint` plugin, registered in deno.json).
 *
 * `wirken/no-secret-logging`: a value of the `Secret` type, or anything produced by
 * `.reveal()`, must never be an argument of a console or logger call. Lint rules see syntax,
 * not types, so "a Secret" means: an identifier declared in the same file as `new Secret(...)`,
 * or annotated `: Secret`, or a parameter typed `Secret`; plus any `.reveal()` call appearing
 * anywhere inside the arguments.
 *
 * @module
 */

const LOG_METHODS = new Set([
  "log",
  "info",
  "warn",
  "error",
  "debug",
  "trace",
  "dir",
  "table",
]);
const LOG_OBJECTS = /^(console|log|logger|.*Log|.*Logger)$/;
const PRINT_FUNCTIONS = new Set(["print", "printError", "printJson"]);

type Node = Deno.lint.Node;

function isLoggingCall(callee: Node): boolean {
  if (callee.type === "Identifier") return PRINT_FUNCTIONS.has(callee.name);
  if (callee.type !== "MemberExpression" || callee.property.type !== "Identifier") return false;
  if (!LOG_METHODS.has(callee.property.name)) return false;
  const obj = callee.object;
  if (obj.type === "Identifier") return LOG_OBJECTS.test(obj.name);
  if (obj.type === "MemberExpression" && obj.property.type === "Identifier") {
    return LOG_OBJECTS.test(obj.property.name);
  }
  return false;
}

function typeIsSecret(annotation: Node | null | undefined): boolean {
  if (!annotation || annotation.type !== "TSTypeAnnotation") return false;
  const t = annotation.typeAnnotation;
  return t.type === "TSTypeReference" && t.typeName.type === "Identifier" &&
    t.typeName.name === "Secret";
}

/** Child keys of the expression nodes an argument can contain (AST nodes expose getters). */
const CHILD_KEYS = [
  "arguments",
  "callee",
  "object",
  "property",
  "expressions",
  "expression",
  "properties",
  "value",
  "elements",
  "argument",
  "left",
  "right",
  "test",
  "consequent",
  "alternate",
  "tag",
  "quasi",
] as const;

function* children(node: Node): Generator<Node> {
  for (const key of CHILD_KEYS) {
    const value: unknown = Reflect.get(node, key);
    if (Array.isArray(value)) {
      for (const v of value) if (v && typeof v === "object" && "type" in v) yield v as Node;
    } else if (value && typeof value === "object" && "type" in value) {
      yield value as Node;
    }
  }
}

function findLeak(node: Node, secrets: Set<string>): string | null {
  if (node.type === "Identifier" && secrets.has(node.name)) return `the Secret "${node.name}"`;
  if (
    node.type === "CallExpression" && node.callee.type === "MemberExpression" &&
    node.callee.property.type === "Identifier" && node.callee.property.name === "reveal"
  ) {
    return "a .reveal() result";
  }
  for (const child of children(node)) {
    if (node.type === "MemberExpression") {
      // `s.equals(t)`: the member name is not a variable, and a member of a Secret other than
      // `.reveal()` (caught above) yields no secret text.
      if (!node.computed && child === node.property) continue;
      if (child === node.object && child.type === "Identifier") continue;
    }
    const found = findLeak(child, secrets);
    if (found) return found;
  }
  return null;
}

const plugin: Deno.lint.Plugin = {
  name: "wirken",
  rules: {
    "no-secret-logging": {
      create(context) {
        const secrets = new Set<string>();
        const calls: Deno.lint.CallExpression[] = [];
        return {
          VariableDeclarator(node) {
            if (node.id.type !== "Identifier") return;
            const init = node.init;
            const isNewSecret = init?.type === "NewExpression" &&
              init.callee.type === "Identifier" && init.callee.name === "Secret";
            if (isNewSecret || typeIsSecret(node.id.typeAnnotation)) secrets.add(node.id.name);
          },
          Identifier(node) {
            // Parameters and properties annotated `: Secret`.
            if (typeIsSecret(node.typeAnnotation)) secrets.add(node.name);
          },
          CallExpression(node) {
            if (isLoggingCall(node.callee)) calls.push(node);
          },
          // Declarations may be visited after their uses (parameters come after the body),
          // so calls are judged once the whole file has been seen.
          "Program:exit"() {
            for (const call of calls) {
              for (const arg of call.arguments) {
                const leak = findLeak(arg, secrets);
                if (!leak) continue;
                context.report({
                  node: arg,
                  message: `Do not pass ${leak} to a logging call.`,
                  hint:
                    "Log the credential's name instead; only Secret.toString() ([REDACTED]) is printable.",
                });
              }
            }
          },
        };
      },
    },
  },
};

export default plugin;
