// A real apie-serve for the tests: built from this repository with go build
// into a temporary directory, started on a free port with its own data
// directory and a user made by `apie-serve user add`, stopped when the
// test file ends.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export const USER = "alice@example.com";
export const PASSWORD = "correct horse battery staple";

/**
 * startServe builds and starts apie-serve; t.after stops it and removes
 * its files. Returns {url, dir, exe, config, log(), stop(signal),
 * start()}: stop and start again on the same data directory and address.
 * @param {import("node:test").TestContext | {after: Function}} t
 * @param {object} [config] the apie.json to use (bcryptCost 4 added)
 */
export async function startServe(t, config = {}) {
  const dir = mkdtempSync(join(tmpdir(), "apie-js-"));
  const exe = join(dir, "apie-serve");
  execFileSync("go", ["build", "-o", exe, "./cmd/apie-serve"], {
    cwd: repo, stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, CGO_ENABLED: "0", PATH: `${process.env.PATH}:/usr/local/go/bin` },
  });
  const cfg = join(dir, "apie.json");
  writeFileSync(cfg, JSON.stringify({ ...config, auth: { bcryptCost: 4, ...config.auth } }));
  execFileSync(exe, ["-config", cfg, "user", "add", USER, "Alice"], { cwd: dir, input: PASSWORD + "\n" });
  const srv = { url: "", dir, exe, config: cfg, log: () => "", proc: null };
  await listen(srv, "127.0.0.1:0");
  t.after(() => {
    srv.proc?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  /** stop ends apie-serve with signal (SIGTERM: it sends followers end) and waits for it to exit. */
  srv.stop = (signal = "SIGTERM") => new Promise((resolve) => {
    const p = srv.proc;
    srv.proc = null;
    if (!p || p.exitCode !== null) return resolve();
    p.once("exit", () => resolve());
    p.kill(signal);
  });
  /** start starts it again on the same data directory and the same address. */
  srv.start = () => listen(srv, srv.url.replace(/^http:\/\//, ""));
  return srv;
}

// listen starts apie-serve on addr and waits for its "listening" line.
async function listen(srv, addr) {
  const proc = spawn(srv.exe, ["-config", srv.config, "-addr", addr], { cwd: srv.dir, stdio: ["ignore", "ignore", "pipe"] });
  let out = "";
  srv.proc = proc;
  srv.log = () => out;
  srv.url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("apie-serve did not listen within 20 s:\n" + out)), 20_000);
    proc.stderr.on("data", (b) => {
      out += b;
      const m = /msg="apie-serve listening" addr=(\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve("http://" + m[1]); }
    });
    proc.on("exit", (code) => { clearTimeout(timer); reject(new Error(`apie-serve exited (${code}) before listening:\n${out}`)); });
  });
}

/**
 * addUser adds a user to a running server's passwd file with
 * `apie-serve user add` (the server sees it at once).
 * @param {{exe: string, dir: string, config: string}} srv
 */
export function addUser(srv, email, password) {
  execFileSync(srv.exe, ["-config", srv.config, "user", "add", email], { cwd: srv.dir, input: password + "\n" });
}
