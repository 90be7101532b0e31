// Text put into HTML: the wrong-token page (agent-core/console/unauthorized-page.ts) and the job log's
// rows (renderer/views/log-view.ts) write every outside string through this. Pure: no DOM.

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** `text` safe inside an element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
