// Bundles electron/preload.ts into dist/electron/preload.cjs: one CommonJS file (a sandboxed preload
// can require only "electron" and a few Node built-ins) with the contract's constants inlined.
//
// The contract builds its zod schemas when it loads; the preload uses none of them (requests are
// validated in the main process), only the channel names. So zod's builders are declared pure (the
// unused schemas drop out) and zod itself is replaced by a stub; if anything kept in the bundle still
// needed zod, the stub would be in the output and the build fails instead of shipping it.
import { resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";

const root = resolve(import.meta.dirname, "..");
const ZOD_STUB_ID = "\0preload-zod-stub";
const ZOD_STUB_MARKER = "preload-zod-stub: zod is not bundled into the preload";

function noZodInPreload(): Plugin {
  return {
    name: "semaphore-agent:no-zod-in-preload",
    enforce: "pre",
    resolveId(id) {
      return id === "zod" ? ZOD_STUB_ID : null;
    },
    load(id) {
      if (id !== ZOD_STUB_ID) return null;
      return `const fail = () => { throw new Error(${JSON.stringify(ZOD_STUB_MARKER)}); };\nexport const z = /* @__PURE__ */ new Proxy({}, { get: fail });\n`;
    },
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === "chunk" && chunk.code.includes(ZOD_STUB_MARKER)) {
          this.error("electron/preload.ts now uses zod (through the contract): validate in the main process instead, or bundle zod on purpose.");
        }
      }
    },
  };
}

export default defineConfig({
  root,
  publicDir: false,
  logLevel: "warn",
  plugins: [noZodInPreload()],
  build: {
    outDir: resolve(root, "dist/electron"),
    // tsc writes main.js and friends into the same folder.
    emptyOutDir: false,
    target: "chrome130",
    minify: false,
    sourcemap: false,
    reportCompressedSize: false,
    copyPublicDir: false,
    lib: {
      entry: resolve(root, "electron/preload.ts"),
      formats: ["cjs"],
      fileName: () => "preload.cjs",
    },
    rollupOptions: {
      external: ["electron"],
      output: { exports: "none" },
      treeshake: {
        // The contract calls these at load time (z.string(), z.strictObject(...), ...).
        manualPureFunctions: ["z", "string", "number", "boolean", "array", "strictObject", "object", "unknown", "_enum", "enum", "regex", "Object.keys"],
      },
    },
  },
});
