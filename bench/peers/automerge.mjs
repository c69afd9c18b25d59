// One node of the automerge-repo run of the peer benchmark (bench/peers/README.md): an automerge-repo `Repo` with
// its websocket network and a file storage that syncs every file to disk before a save counts as done; one
// document per record.
//
//   node automerge.mjs a --http 127.0.0.141:8080 --ws 127.0.0.141:9080 --dir DIR
//     Serves `POST /records` (a JSON record): makes a document of it, saves it to disk, then answers 201. Every
//     peer that connects to its websocket server is sent every document (automerge-repo's default share policy).
//   node automerge.mjs b --connect ws://127.0.0.143:9080 --dir DIR
//     Connects to A, keeps what A sends on its own disk, and prints `seen <id>` once for each record it can read
//     (a document holding the record's `id`).
//
// Both print `ready` when they can take work, and stop on SIGTERM.
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { Repo } from '@automerge/automerge-repo';
import {
  WebSocketClientAdapter,
  WebSocketServerAdapter,
} from '@automerge/automerge-repo-network-websocket';

/** Largest record body `POST /records` takes. */
const BODY_MAX = 64 * 1024;

/** A storage adapter that keeps each key in its own file and syncs the file and its folder before a save or
 * removal resolves (automerge-repo's own file storage does not sync). */
class SyncedFileStorage {
  constructor(dir) {
    this.dir = dir;
  }

  pathOf(key) {
    return path.join(this.dir, key[0].slice(0, 2), ...key);
  }

  async load(key) {
    try {
      return new Uint8Array(await fsp.readFile(this.pathOf(key)));
    } catch (e) {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async save(key, data) {
    const file = this.pathOf(key);
    const folder = path.dirname(file);
    await fsp.mkdir(folder, { recursive: true });
    const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const handle = await fsp.open(temporary, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temporary, file);
    await syncFolder(folder);
  }

  async remove(key) {
    const file = this.pathOf(key);
    try {
      await fsp.unlink(file);
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
      return;
    }
    await syncFolder(path.dirname(file));
  }

  async loadRange(prefix) {
    const chunks = [];
    const walk = async (folder, key) => {
      let names;
      try {
        names = await fsp.readdir(folder, { withFileTypes: true });
      } catch (e) {
        if (e.code === 'ENOENT') return;
        throw e;
      }
      for (const entry of names) {
        if (entry.name.endsWith('.tmp')) continue;
        const here = path.join(folder, entry.name);
        if (entry.isDirectory()) {
          await walk(here, [...key, entry.name]);
        } else {
          chunks.push({ key: [...key, entry.name], data: new Uint8Array(await fsp.readFile(here)) });
        }
      }
    };
    if (prefix.length === 0) return chunks;
    // The prefix names a folder (a document, or a document's kind of chunk) or one file.
    const at = this.pathOf(prefix);
    const stat = await fsp.stat(at).catch(() => undefined);
    if (stat?.isFile()) {
      chunks.push({ key: prefix, data: new Uint8Array(await fsp.readFile(at)) });
    } else if (stat?.isDirectory()) {
      await walk(at, [...prefix]);
    }
    return chunks;
  }

  async removeRange(prefix) {
    for (const { key } of await this.loadRange(prefix)) await this.remove(key);
  }
}

async function syncFolder(folder) {
  const handle = await fsp.open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function options(args) {
  const out = {};
  for (let i = 0; i < args.length; i += 2) {
    if (!args[i].startsWith('--') || args[i + 1] === undefined) usage(`bad argument ${args[i]}`);
    out[args[i].slice(2)] = args[i + 1];
  }
  return out;
}

function usage(why) {
  process.stderr.write(`automerge.mjs: ${why}\nusage: automerge.mjs a --http H:P --ws H:P --dir D | b --connect URL --dir D\n`);
  process.exit(2);
}

function hostPort(text, name) {
  const at = text?.lastIndexOf(':') ?? -1;
  if (at < 1) usage(`--${name} wants host:port`);
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
}

function stopOnSignal(close) {
  process.on('SIGTERM', async () => {
    await close();
    process.exit(0);
  });
}

async function runA(opts) {
  if (!opts.dir) usage('--dir is needed');
  const ws = hostPort(opts.ws, 'ws');
  const web = hostPort(opts.http, 'http');
  const socket = new WebSocketServer({ host: ws.host, port: ws.port });
  const repo = new Repo({
    network: [new WebSocketServerAdapter(socket)],
    storage: new SyncedFileStorage(opts.dir),
    peerId: 'a',
  });
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/records') {
      res.writeHead(404).end();
      return;
    }
    const parts = [];
    let size = 0;
    req.on('data', (part) => {
      size += part.length;
      if (size > BODY_MAX) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      parts.push(part);
    });
    req.on('end', async () => {
      if (size > BODY_MAX) return;
      let record;
      try {
        record = JSON.parse(Buffer.concat(parts).toString('utf8'));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`not JSON: ${e.message}\n`);
        return;
      }
      try {
        const handle = repo.create(record);
        // Acknowledged only when the document is on disk.
        await repo.flush([handle.documentId]);
        const body = JSON.stringify({ id: record.id, url: handle.url });
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(web.port, web.host, resolve));
  stopOnSignal(async () => {
    server.close();
    await repo.flush();
    socket.close();
  });
  process.stdout.write('ready\n');
}

async function runB(opts) {
  if (!opts.dir || !opts.connect) usage('--connect and --dir are needed');
  const repo = new Repo({
    network: [new WebSocketClientAdapter(opts.connect, 100)],
    storage: new SyncedFileStorage(opts.dir),
    peerId: 'b',
  });
  const seen = new Set();
  const report = (doc) => {
    const id = doc?.id;
    if (typeof id === 'string' && !seen.has(id)) {
      seen.add(id);
      process.stdout.write(`seen ${id}\n`);
    }
  };
  // automerge-repo announces no event for a document a peer sends; its sync metrics name each document a sync
  // message arrived for, and the document's handle then reports each change.
  const watched = new Set();
  repo.on('doc-metrics', (event) => {
    if (event.type !== 'receive-sync-message' || watched.has(event.documentId)) return;
    const handle = repo.handles[event.documentId];
    if (!handle) return;
    watched.add(event.documentId);
    // A change event comes before the handle counts as ready, so the document is taken from the event.
    handle.on('change', ({ doc }) => report(doc));
    setImmediate(() => {
      if (handle.isReady()) report(handle.doc());
    });
  });
  stopOnSignal(async () => {
    await repo.flush();
  });
  process.stdout.write('ready\n');
}

// automerge-repo rejects promises of its own that nothing awaits (a document's lookup that times out after 60 s
// under load), and its websocket client leaves a failed reconnection's `error` event unhandled; an application
// built on it logs those and goes on, as this does.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`automerge.mjs: unhandled rejection: ${reason?.stack ?? reason}\n`);
});
process.on('uncaughtException', (error) => {
  process.stderr.write(`automerge.mjs: uncaught exception: ${error?.stack ?? error}\n`);
});

const [role, ...rest] = process.argv.slice(2);
if (role === 'a') await runA(options(rest));
else if (role === 'b') await runB(options(rest));
else usage('the first argument is a or b');
