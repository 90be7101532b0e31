// A stand-in for Semaphore's self-hosted toolbox release, for tests: a tarball with the real layout
// (one top folder `toolbox/` holding `toolbox`, `install-toolbox`, `libcheckout`, `libchecksum`,
// `retry` and the `artifact`, `test-results` and `cache` executables), and a 127.0.0.1 server with
// GitHub's release URL layout (`latest/download/<asset>` redirecting to `download/<tag>/<asset>`,
// which redirects once more to the blob, as GitHub does), `checksums.txt` in the real format, and
// faults on demand (a cut-off body, a body that stalls, 404s).
//
// The scripts are written for these tests (not copied from the toolbox): `checkout` really clones
// with git, `retry` really retries, and the three CLIs record their arguments in
// `$TOOLBOX_FIXTURE_RECORD` (default: `.fixture-record` in the install) and keep what
// `artifact push job FILE` pushes under `$TOOLBOX_FIXTURE_STORE` (default: `.fixture-store`).
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "tar";

import { installToolbox, toolboxAssetName, type ToolboxInstallResult } from "../../agent-core/toolbox/index.js";

export const FIXTURE_VERSION = "v1.23.4";

const TOOLBOX = `# Fixture of the self-hosted toolbox's entry file: sources its libraries by literal paths, like the real one.
source ~/.toolbox/libcheckout
source ~/.toolbox/libchecksum
`;

const INSTALL_TOOLBOX = `#!/usr/bin/env bash
# Fixture of install-toolbox. The real one links the commands into /usr/local/bin with sudo and edits
# ~/.bash_profile; semaphore-agent never runs it, so this one only says so and fails.
echo "fixture install-toolbox: semaphore-agent must not run this" >&2
exit 1
`;

const LIBCHECKOUT = `# Fixture checkout (written for the tests): clone SEMAPHORE_GIT_URL into SEMAPHORE_GIT_DIR (relative to
# the current folder), then check out SEMAPHORE_GIT_SHA, on SEMAPHORE_GIT_BRANCH when one is given.
checkout() {
  local name
  for name in SEMAPHORE_GIT_URL SEMAPHORE_GIT_DIR SEMAPHORE_GIT_SHA; do
    if [ -z "\${!name}" ]; then
      echo "checkout: \$name is not set" >&2
      return 1
    fi
  done
  rm -rf "\$SEMAPHORE_GIT_DIR"
  echo "Performing a clone of \$SEMAPHORE_GIT_URL into \$SEMAPHORE_GIT_DIR"
  retry --times 3 --sleep 1 git clone --quiet "\$SEMAPHORE_GIT_URL" "\$SEMAPHORE_GIT_DIR" || return 1
  cd "\$SEMAPHORE_GIT_DIR" || return 1
  if [ -n "\$SEMAPHORE_GIT_BRANCH" ]; then
    git checkout --quiet -B "\$SEMAPHORE_GIT_BRANCH" "\$SEMAPHORE_GIT_SHA" || return 1
  else
    git checkout --quiet --detach "\$SEMAPHORE_GIT_SHA" || return 1
  fi
  echo "HEAD is now at \$(git rev-parse --short HEAD)"
}
`;

const LIBCHECKSUM = `# Fixture checksum: the sha256 of a file, in hex.
checksum() {
  sha256sum "\$1" | cut -d' ' -f1
}
`;

const RETRY = `#!/usr/bin/env bash
# Fixture retry: retry [-t|--times N] [-s|--sleep S] COMMAND...; runs COMMAND up to N times.
times=3
pause=0
while [ \$# -gt 0 ]; do
  case "\$1" in
    -t|--times) times="\$2"; shift 2 ;;
    -s|--sleep) pause="\$2"; shift 2 ;;
    *) break ;;
  esac
done
for attempt in \$(seq 1 "\$times"); do
  "\$@" && exit 0
  status=\$?
  if [ "\$attempt" -ge "\$times" ]; then
    echo "[\$attempt/\$times] Execution Failed with exit status \$status. No more retries."
    exit "\$status"
  fi
  echo "[\$attempt/\$times] Execution Failed with exit status \$status. Retrying."
  sleep "\$pause"
done
`;

/** An executable that records `NAME ARG...` (shell-quoted) and, for `artifact push|pull job X`, stores X. */
function recorder(name: string): string {
  return `#!/usr/bin/env bash
# Fixture ${name}: records its arguments.
here="\$(cd "\$(dirname "\$(readlink -f "\$0")")" && pwd)"
record="\${TOOLBOX_FIXTURE_RECORD:-\$here/.fixture-record}"
{ printf '%s' ${name}; printf ' %q' "\$@"; printf '\\n'; } >> "\$record"
store="\${TOOLBOX_FIXTURE_STORE:-\$here/.fixture-store}"
if [ ${name} = artifact ] && [ "\$2" = job ] && [ -n "\$3" ]; then
  case "\$1" in
    push) mkdir -p "\$store/job" && cp -R "\$3" "\$store/job/" || exit 1 ;;
    pull) cp -R "\$store/job/\$3" . || exit 1 ;;
  esac
fi
exit 0
`;
}

export interface ToolboxFixture {
  /** The tarball, named as the release asset of this platform (e.g. self-hosted-linux.tar). */
  tarballPath: string;
  /** checksums.txt beside the tarball, in the release's format (`<sha256> <asset>`). */
  checksumsPath: string;
  checksumsText: string;
  asset: string;
  sha256: string;
  sizeBytes: number;
  /** The unpacked source (`<dir>/src/toolbox`). */
  sourceDir: string;
}

export interface BuildToolboxFixtureOptions {
  /** The asset name; default: this platform's (toolboxAssetName()). */
  asset?: string;
  /** Extra or replaced files inside `toolbox/` (name -> content; executable when it starts with #!). */
  files?: Record<string, string>;
  /** Files to leave out (e.g. "libcheckout"). */
  omit?: string[];
}

/** Builds the fixture tarball and its checksums.txt in `dir` (which must exist). */
export function buildToolboxFixture(dir: string, opts: BuildToolboxFixtureOptions = {}): ToolboxFixture {
  const asset = opts.asset ?? toolboxAssetName();
  const src = join(dir, "src");
  const sourceDir = join(src, "toolbox");
  mkdirSync(sourceDir, { recursive: true });
  const files: Record<string, string> = {
    toolbox: TOOLBOX,
    "install-toolbox": INSTALL_TOOLBOX,
    libcheckout: LIBCHECKOUT,
    libchecksum: LIBCHECKSUM,
    retry: RETRY,
    artifact: recorder("artifact"),
    "test-results": recorder("test-results"),
    cache: recorder("cache"),
    ...opts.files,
  };
  for (const name of opts.omit ?? []) delete files[name];
  for (const [name, content] of Object.entries(files)) {
    const path = join(sourceDir, name);
    writeFileSync(path, content);
    chmodSync(path, content.startsWith("#!") ? 0o755 : 0o644);
  }
  const tarballPath = join(dir, asset);
  create({ sync: true, file: tarballPath, cwd: src, portable: true }, ["toolbox"]);
  const bytes = readFileSync(tarballPath);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  // As the release's checksums.txt: one line per asset, hosted ones too.
  const checksumsText = `${"0".repeat(64)} linux.tar\n${sha256} ${asset}\n`;
  const checksumsPath = join(dir, "checksums.txt");
  writeFileSync(checksumsPath, checksumsText);
  return { tarballPath, checksumsPath, checksumsText, asset, sha256, sizeBytes: statSync(tarballPath).size, sourceDir };
}

/** One entry of rawTar(): a file (content), a folder, or a link. */
export interface RawTarEntry {
  path: string;
  type?: "file" | "dir" | "symlink" | "hardlink" | "fifo";
  content?: string;
  linkpath?: string;
  mode?: number;
}

/** A ustar archive written byte by byte: for archives no honest tool makes (`../x`, `/etc/x`, links out). */
export function rawTar(entries: RawTarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? "file";
    const body = Buffer.from(type === "file" ? (e.content ?? "") : "");
    const h = Buffer.alloc(512, 0);
    const put = (value: string, offset: number, length: number): void => {
      h.write(value.slice(0, length), offset, "utf8");
    };
    const octal = (n: number, length: number): string => `${n.toString(8).padStart(length - 1, "0")}\0`;
    put(e.path, 0, 100);
    put(octal(e.mode ?? (type === "dir" ? 0o755 : 0o644), 8), 100, 8);
    put(octal(0, 8), 108, 8);
    put(octal(0, 8), 116, 8);
    put(octal(body.length, 12), 124, 12);
    put(octal(Math.floor(Date.now() / 1000), 12), 136, 12);
    h.fill(" ", 148, 156);
    put({ file: "0", dir: "5", symlink: "2", hardlink: "1", fifo: "6" }[type], 156, 1);
    put(e.linkpath ?? "", 157, 100);
    put("ustar\0", 257, 6);
    put("00", 263, 2);
    let sum = 0;
    for (const byte of h) sum += byte;
    put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512, 0));
  }
  blocks.push(Buffer.alloc(1024, 0));
  return Buffer.concat(blocks);
}

/** What the fixture release server does with a request for the tarball. */
export type ReleaseBehaviour =
  /** Serve it. */
  | "ok"
  /** Announce the full Content-Length, send half, then close the connection. */
  | "truncate"
  /** Send half, then nothing more until the client goes away or the server closes. */
  | "stall"
  /** 404 for everything. */
  | "404";

export interface ToolboxReleaseServer {
  /** `http://127.0.0.1:PORT/releases`: the base URL of installToolbox and SEMAPHORE_AGENT_TOOLBOX_BASE_URL. */
  baseUrl: string;
  /** `http://127.0.0.1:PORT`: other files are served under /files/<name> (see `files`). */
  origin: string;
  behaviour: ReleaseBehaviour;
  /** null: checksums.txt answers 404. */
  checksumsText: string | null;
  /** Extra files at `/files/<name>` (for `--from URL`). */
  files: Map<string, Buffer>;
  /** Every request path, in order. */
  readonly requests: string[];
  /** Resolves when a tarball request has been answered in part (for "stall"/"truncate"). */
  partSent(): Promise<void>;
  /** Stops the server and destroys every open connection. */
  close(): Promise<void>;
}

export interface ServeToolboxReleaseOptions {
  tarball: Buffer;
  asset: string;
  /** null: no checksums.txt published (404). */
  checksumsText: string | null;
  version?: string;
  behaviour?: ReleaseBehaviour;
}

/** Serves a release on 127.0.0.1 with GitHub's URL layout and redirects. */
export async function serveToolboxRelease(opts: ServeToolboxReleaseOptions): Promise<ToolboxReleaseServer> {
  const version = opts.version ?? FIXTURE_VERSION;
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  let partWaiters: Array<() => void> = [];
  let partSent = false;
  const state = {
    behaviour: opts.behaviour ?? ("ok" as ReleaseBehaviour),
    checksumsText: opts.checksumsText,
    files: new Map<string, Buffer>(),
  };
  const notifyPart = (): void => {
    partSent = true;
    for (const w of partWaiters.splice(0)) w();
  };
  const sendTarball = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    if (state.behaviour === "ok") {
      res.writeHead(200, { "content-type": "application/x-tar", "content-length": body.length });
      res.end(body);
      return;
    }
    res.writeHead(200, { "content-type": "application/x-tar", "content-length": body.length });
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
      notifyPart();
      if (state.behaviour === "truncate") req.socket.destroy();
    });
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.push(path);
    if (state.behaviour === "404") {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
      return;
    }
    const latest = /^\/releases\/latest\/download\/([^/]+)$/.exec(path);
    if (latest) {
      res.writeHead(302, { location: `/releases/download/${version}/${latest[1]}` }).end();
      return;
    }
    const tagged = /^\/releases\/download\/([^/]+)\/([^/]+)$/.exec(path);
    if (tagged && tagged[1] === version && tagged[2] === opts.asset) {
      // GitHub sends the tagged URL on to its blob store, whose URL names no tag.
      res.writeHead(302, { location: `/blob/${opts.asset}?signature=fixture` }).end();
      return;
    }
    if (tagged && tagged[1] === version && tagged[2] === "checksums.txt" && state.checksumsText !== null) {
      res.writeHead(200, { "content-type": "text/plain" }).end(state.checksumsText);
      return;
    }
    if (path === `/blob/${opts.asset}`) {
      sendTarball(req, res, opts.tarball);
      return;
    }
    const file = /^\/files\/([^/]+)$/.exec(path);
    const content = file ? state.files.get(file[1] as string) : undefined;
    if (content !== undefined) {
      if (file![1]!.endsWith(".tar")) sendTarball(req, res, content);
      else res.writeHead(200).end(content);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    baseUrl: `${origin}/releases`,
    origin,
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(b: ReleaseBehaviour) {
      state.behaviour = b;
    },
    get checksumsText() {
      return state.checksumsText;
    },
    set checksumsText(t: string | null) {
      state.checksumsText = t;
    },
    files: state.files,
    requests,
    partSent: () => (partSent ? Promise.resolve() : new Promise<void>((resolve) => partWaiters.push(resolve))),
    close: async () => {
      partWaiters = [];
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Installs the fixture toolbox into `<home>/.toolbox` with the real installer (from a local file). */
export async function installFixtureToolbox(home: string, opts: BuildToolboxFixtureOptions = {}): Promise<ToolboxInstallResult> {
  const dir = mkdtempSync(join(tmpdir(), "toolbox-fixture-"));
  try {
    const fixture = buildToolboxFixture(dir, opts);
    return await installToolbox({ home, from: fixture.tarballPath });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The lines the fixture's artifact/test-results/cache wrote (default record file of the install in `home`). */
export function readFixtureRecord(home: string, file = join(home, ".toolbox", ".fixture-record")): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}
