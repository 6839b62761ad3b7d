import type { CertificateStore, LogStore, SettingStore } from '../store/ports';
import { parseCertificate } from '../pki';
import type { AuditSource } from './audit';

/** The local store as an audit source (reads entries and stored nodes directly). */
export function storeAuditSource(store: LogStore): AuditSource {
  return {
    size: () => store.size(),
    async entries(start, end) {
      return (await store.getEntries(start, end)).map((e) => ({ index: e.index, leafInput: Buffer.from(e.leafInput, 'base64') }));
    },
    async *checkpoints() {
      let after = -1;
      for (;;) {
        const page = await store.listCheckpoints(after, 500);
        if (page.length === 0) return;
        for (const c of page) yield { size: c.size, note: c.note };
        after = page[page.length - 1].size;
      }
    },
    storedNodes: (ids) => store.getNodes(ids),
  };
}

/** Public keys of every log-signing certificate the CA has used, read from the store. */
export async function storedLogKeys(settings: SettingStore, certificates: CertificateStore): Promise<Buffer[]> {
  const serials: string[] = [];
  const h = await settings.get<{ log: string }>('pki.hierarchy');
  if (h) serials.push(h.log);
  for (let k = 1; ; k++) {
    const s = await settings.get<string>(`pki.delegate.log.${k}`);
    if (!s) break;
    serials.push(s);
  }
  const keys: Buffer[] = [];
  for (const s of serials) {
    const rec = await certificates.get(s);
    if (rec) keys.push(parseCertificate(Buffer.from(rec.der, 'base64')).spki);
  }
  return keys;
}

/** A running eseal (or any server with the same API) as an audit source. */
export function httpAuditSource(baseUrl: string, fetchImpl: typeof fetch = fetch): AuditSource & { consistencyProof(m: number, n: number): Promise<Buffer[]> } {
  const get = async (path: string) => {
    const res = await fetchImpl(baseUrl.replace(/\/+$/, '') + path);
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
    return res;
  };
  let size: number | null = null;
  return {
    async size() {
      // The size of the latest checkpoint: what the log has committed to.
      const note = await (await get('/v1/log/checkpoint')).text();
      size = Number(note.split('\n')[1]);
      return size;
    },
    async entries(start, end) {
      const out: { index: number; leafInput: Buffer }[] = [];
      while (start < end) {
        const body = (await (await get(`/v1/log/entries?start=${start}&end=${end}`)).json()) as { entries: { index: number; leafInput: string }[] };
        if (body.entries.length === 0) break;
        for (const e of body.entries) out.push({ index: e.index, leafInput: Buffer.from(e.leafInput, 'base64') });
        start = body.entries[body.entries.length - 1].index + 1;
      }
      return out;
    },
    async *checkpoints() {
      let after = -1;
      for (;;) {
        const body = (await (await get(`/v1/log/checkpoints?${after >= 0 ? `after=${after}&` : ''}limit=1000`)).json()) as { checkpoints: { size: number; note: string }[] };
        if (body.checkpoints.length === 0) return;
        for (const c of body.checkpoints) if (size === null || c.size <= size) yield c;
        after = body.checkpoints[body.checkpoints.length - 1].size;
      }
    },
    async consistencyProof(m, n) {
      const body = (await (await get(`/v1/log/proofs/consistency?first=${m}&second=${n}`)).json()) as { hashes: string[] };
      return body.hashes.map((h) => Buffer.from(h, 'base64'));
    },
  };
}

/** The origin recorded by the log's first entry (log.created). */
export async function originOf(source: AuditSource): Promise<string | null> {
  const [first] = await source.entries(0, 1);
  if (!first) return null;
  try {
    const e = JSON.parse(first.leafInput.toString('utf8')) as { type?: string; subject?: { origin?: string } };
    return e.type === 'log.created' && typeof e.subject?.origin === 'string' ? e.subject.origin : null;
  } catch {
    return null;
  }
}
