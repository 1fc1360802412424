// Package cache is dsbuild's content-addressed store. It knows nothing of
// datasets or recipes; it keeps bytes and the facts that name them.
//
// # What it stores
//
//   - Blobs, named by the SHA-256 of their uncompressed bytes. Compressible
//     blobs are kept zstd-compressed (blobs/ab/<hex>.zst); already compressed
//     media and small blobs are kept raw (blobs/ab/<hex>).
//   - Trees: canonical, sorted directory listings (see [EncodeTree]), stored
//     as blobs, whose entries name other blobs and trees (a Merkle tree).
//   - The action cache: step key ([ActionKey]) → named output digests (ac/).
//   - The item memo: item key ([MemoKey]) → an item's result kept in the
//     entry itself with the blobs it names (PutMemoRecord; GC keeps it
//     while they live), or named output digests (memo/), for steps that
//     work item by item. Keys are types of their own, not
//     [Digest]s: a content digest cannot be passed for one.
//   - The stat cache: (path, size, mtime, inode, ctime, mode) → digest for
//     source files, so that an unchanged source file is never hashed again.
//   - Roots for garbage collection: tags, registered lockfiles and records
//     of the last builds.
//
// # Guarantees
//
//   - Every write goes to a temporary file in the store's tmp/ directory
//     and is renamed into place, so a killed process leaves at most stray
//     temporary files, never a half-written blob or entry.
//   - Every blob read re-hashes the bytes. A blob whose content does not
//     match its name is reported through the store's log, removed, and
//     surfaced as a [*CorruptError]: a miss with a reason, never a wrong
//     result. Action and memo entries carry their own checksum.
//   - Several processes may share one store: builds hold a shared lock,
//     garbage collection an exclusive one.
//   - Files stored with [Clone] or [Copy] are the store's own inodes (a
//     reflink or a copy): no later write to the file they came from can
//     change them. Only [Link], which callers use when a user asks for
//     hard links, shares an inode; it makes the file read-only, and an
//     in-place edit is caught by the stat cache, which removes the stale
//     blob, and by the read path.
//
// Blobs are not fsynced: a crash of the process cannot lose them, and a
// crash of the machine can at worst leave a blob whose content does not
// match its name, which the read path detects.
package cache
