// What compare.ts needs from _peers.ts, and how it loads it. The peers
// (Effection, Effect) come from the npm registry, so _peers.ts is loaded
// through a computed specifier that `deno check` does not follow: checking
// compare.ts needs nothing from the registry. _peers.ts checks that it
// provides this interface (its `peers` export).

/** The peer workloads: each runs one round and returns its milliseconds. */
export interface PeerApi {
  effectionSpawnJoin(n?: number): Promise<number>;
  effectionQueue(n?: number): Promise<number>;
  effectionTimeouts(n?: number): Promise<number>;
  effectionSleepers(n?: number): Promise<number>;
  effectionStartSleepers(n: number, measure: () => Promise<void>): Promise<void>;
  effectSpawnJoin(n?: number): Promise<number>;
  effectSpawnJoinYield(n?: number): Promise<number>;
  effectQueue(n?: number): Promise<number>;
  effectLock(tasks?: number, rounds?: number): Promise<number>;
  effectTimeouts(n?: number): Promise<number>;
  effectSleepers(n?: number): Promise<number>;
  effectStartSleepers(n: number, measure: () => Promise<void>): Promise<void>;
}

const PEERS = "./_peers.ts";
let loaded: Promise<PeerApi> | undefined;

/** Loads _peers.ts (and with it the peers from npm) on first use. */
export function loadPeers(): Promise<PeerApi> {
  return loaded ??= import(new URL(PEERS, import.meta.url).href).then((m) =>
    (m as { peers: PeerApi }).peers
  );
}
