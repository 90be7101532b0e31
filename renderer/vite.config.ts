// Builds the renderer into dist/renderer with relative asset URLs, so the same files load from
// file:// in Electron and from / in the web console. `npm run build:renderer` runs it from the repo root.
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  plugins: [react()],
  // Nothing from the environment is baked in; only NODE_ENV (set by vite build) matters to React.
  envPrefix: "SEMAPHORE_AGENT_RENDERER_",
  build: {
    outDir: fileURLToPath(new URL("../dist/renderer", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    chunkSizeWarningLimit: 2048,
  },
});
