// Imported first by main.tsx: zod compiles object schemas with `new Function` unless told not to, and
// merely probing for that breaks the page's CSP (script-src 'self', no 'unsafe-eval': a reported
// violation). The renderer parses little, so the interpreter is fast enough.
import { z } from "zod";

z.config({ jitless: true });
