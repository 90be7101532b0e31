// Entry point: pick the bridge, create the store, show the window.
import "@xterm/xterm/css/xterm.css";
import "./styles.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBridge } from "./bridge/index.js";
import { installProbe } from "./probe.js";
import { createAppStore } from "./store/app-store.js";
import { App } from "./views/App.js";
import { StoreProvider } from "./views/store-context.js";

const bridge = createBridge();
const store = createAppStore(bridge);
store.connect();
installProbe(window);

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <StoreProvider store={store}>
      <App />
    </StoreProvider>
  </StrictMode>,
);
