/**
 * Subjects and queue group of the remote-analysis work fabric, beside the configured subject
 * prefix: `<prefix>_work.v1.infer`. Not under `<prefix>.`: that is where the events live, and
 * the audit stream (JetStream, subjects `<prefix>.>`) would store every window of speech and
 * answer requests with its acknowledgements; a read-only events user (allowed `<prefix>.>`)
 * would receive speech. The audit anchors sit beside the prefix the same way (`<prefix>_anchors`).
 */
export interface WorkSubjects {
  /** Inference requests: one per analysis window, request/reply, served by the queue group. */
  infer: string;
  /** Queue group every analysis worker joins: NATS hands each request to one of them. */
  queue: string;
}

export function workSubjects(prefix: string): WorkSubjects {
  return { infer: `${prefix}_work.v1.infer`, queue: 'dfd-analysis-workers' };
}
