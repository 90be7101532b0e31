// Entry point: pick the bridge, create the store, show the window.
import "./zod-jitless.js";
import "@xterm/xterm/css/xterm.css";
import "./styles.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBridge } from "./bridge/index.js";
import { installProbe } from "./probe.js";
import { installBrowserNotifications } from "./browser-notifications.js";
import { createAppStore } from "./store/app-store.js";
import { createDebugStore } from "./store/debug-terminals.js";
import { App } from "./views/App.js";
import { installDebugProbe } from "./views/debug-terminal.js";
import { StoreProvider } from "./views/store-context.js";

const bridge = createBridge();
const store = createAppStore(bridge);
store.connect();
const debug = createDebugStore(bridge);
debug.connect();
installProbe(window);
installBrowserNotifications(bridge, () => store.getState().settings);
installDebugProbe(debug);

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <StoreProvider store={store} debug={debug}>
      <App />
    </StoreProvider>
  </StrictMode>,
);
