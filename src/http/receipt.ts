import type { Response } from 'express';

/**
 * A log receipt on a response: the entry's index in the body and the X-Log-Index header, and
 * where its inclusion proof can be fetched once a checkpoint covers it (checkpoints are signed
 * every few seconds, or on demand with POST /v1/log/checkpoint).
 */
export function logReceipt(res: Response, index: number | undefined): { logIndex: number | null; log?: object } {
  if (index === undefined) return { logIndex: null };
  res.setHeader('X-Log-Index', String(index));
  return {
    logIndex: index,
    log: {
      index,
      checkpoint: '/v1/log/checkpoint',
      inclusionProof: `/v1/log/proofs/inclusion?index=${index}&treeSize={treeSize}`,
    },
  };
}
