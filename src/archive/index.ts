export * from './ports';
export { ArchiveService, DEFAULT_CODE_FORMAT, toView, type ArchiveOptions, type ArchiveRecordView, type FileInput } from './service';
export { runFilingChecks } from './checks';
export { buildHashTree, rootFromPath, hashSortedConcat } from './hash-tree';
export { encodeEvidenceRecord, parseEvidenceRecord } from './evidence-record';
export { buildPackage, verifyPackage, type PackageVerification, type PackageCheck } from './package';
