/**
 * Where an open stream's memory goes: two V8 heap snapshots of the gateway (idle, and with N streams
 * open) summed by what each object is (its constructor for objects, its function for closures, the
 * V8 node type for strings, code, arrays…), the difference divided by N. A snapshot holds live
 * objects only (V8 collects first), so garbage waiting for the GC is not counted: RSS minus these
 * figures is that garbage, the young generation's room, and native memory (sockets, llhttp, TLS).
 */
import { readFileSync } from 'node:fs';

interface HeapSnapshotFile {
  readonly snapshot: { readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly [readonly string[], ...unknown[]] } };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

/** Bytes by kind ("object:ServerResponse", "closure:onData", "string", …) of one snapshot file. */
export function sizesByKind(file: string): Map<string, { bytes: number; count: number }> {
  const heap = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshotFile;
  const fields = heap.snapshot.meta.node_fields;
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = heap.snapshot.meta.node_types[0];
  const sizes = new Map<string, { bytes: number; count: number }>();
  for (let index = 0; index < heap.nodes.length; index += stride) {
    const type = types[heap.nodes[index + typeAt]!] ?? 'unknown';
    // Names of strings, numbers and code are their contents: only objects and closures are named.
    const named = type === 'object' || type === 'closure' || type === 'native';
    const kind = named ? `${type}:${heap.strings[heap.nodes[index + nameAt]!] ?? '?'}` : type;
    const entry = sizes.get(kind) ?? { bytes: 0, count: 0 };
    entry.bytes += heap.nodes[index + sizeAt]!;
    entry.count += 1;
    sizes.set(kind, entry);
  }
  return sizes;
}

export interface PerStreamKind {
  readonly kind: string;
  readonly bytesPerStream: number;
  readonly objectsPerStream: number;
}

/** What `streams` more open streams added, per stream, largest first; `top` kinds and the rest as one line. */
export function perStreamDifference(idleFile: string, loadedFile: string, streams: number, top = 20): { total: number; kinds: PerStreamKind[] } {
  const idle = sizesByKind(idleFile);
  const loaded = sizesByKind(loadedFile);
  const kinds: PerStreamKind[] = [];
  for (const [kind, after] of loaded) {
    const before = idle.get(kind) ?? { bytes: 0, count: 0 };
    kinds.push({ kind, bytesPerStream: (after.bytes - before.bytes) / streams, objectsPerStream: (after.count - before.count) / streams });
  }
  kinds.sort((a, b) => b.bytesPerStream - a.bytesPerStream);
  const total = kinds.reduce((sum, kind) => sum + kind.bytesPerStream, 0);
  const rest = kinds.slice(top);
  return {
    total,
    kinds: [
      ...kinds.slice(0, top),
      {
        kind: `${rest.length} other kinds`,
        bytesPerStream: rest.reduce((sum, kind) => sum + kind.bytesPerStream, 0),
        objectsPerStream: rest.reduce((sum, kind) => sum + kind.objectsPerStream, 0),
      },
    ],
  };
}
