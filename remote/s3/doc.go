// Package s3 is the S3 backend of [cache.Remote], through minio-go: AWS
// S3 and the servers that speak its API (MinIO, Ceph, Cloudflare R2,
// versitygw, GCS's interoperability mode).
//
// # Naming a remote
//
// A remote is s3://BUCKET or s3://BUCKET/PREFIX. Two query parameters,
// which are not secrets, may be part of it: endpoint=URL and region=NAME.
// Everything else comes from the standard AWS variables and files:
//
//   - endpoint: the URL's endpoint=, else AWS_ENDPOINT_URL_S3, else
//     AWS_ENDPOINT_URL, else AWS itself. An endpoint is
//     http(s)://HOST[:PORT]; http means no TLS. Custom endpoints are
//     addressed path-style (http://host/bucket/key). AWS_CA_BUNDLE names
//     a PEM file of CAs trusted besides the system's.
//   - region: the URL's region=, else AWS_REGION, else
//     AWS_DEFAULT_REGION, else us-east-1.
//   - credentials, in minio-go's chain of providers: AWS_ACCESS_KEY_ID and
//     AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), else the profile
//     AWS_PROFILE (else "default") of the shared credentials file
//     (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials), else of the
//     config file (AWS_CONFIG_FILE, else ~/.aws/config; SSO profiles and
//     credential_process work as minio-go supports them). With none, the
//     requests are unsigned, which a public bucket allows for reading.
//
// [Remote.String] is the URL without its query plus " at HOST:PORT" for a
// non-AWS endpoint; it never holds a secret.
//
// # Layout in the bucket
//
//   - PREFIX/cas/<first 2 hex digits>/<64 hex digits>: a blob's raw bytes,
//     named by their SHA-256, so `sha256sum` checks any object by hand.
//   - PREFIX/ac/<2 hex>/<64 hex>: the action entry of a step key, a small
//     text object (see action.go): a header naming the key, one line per
//     output (digest, size, name as a quoted Go string) sorted by name,
//     and a final line with the SHA-256 of the lines before it.
//
// # Guarantees
//
//   - Blobs are created, never replaced. A blob of up to 16 MiB goes up
//     in one PUT with If-None-Match: *; a 412 (the object exists) is
//     success once a HEAD shows the object has the blob's size. Two
//     machines putting the same blob at once both succeed and the bucket
//     holds one copy. A larger blob goes up in parts (minio-go's multipart
//     upload), which minio-go v7.4.1 cannot make conditional, so Put
//     HEADs it first and uploads only an absent one: two machines that
//     start the same large upload in the same moment both write it, and
//     the bucket keeps one of the two identical objects. The one exception
//     is repair: an object of the wrong size under a blob's key is
//     replaced by Put when the reader can be read again from its start.
//   - Blobs are streamed in both directions, never held whole in memory.
//   - Action entries are plain PUTs: a later entry replaces an earlier one.
//     Readers see one whole entry or the other (S3 PUTs are atomic).
//   - Missing batches its questions: it lists the cas/<xx>/ shards that
//     hold many of the refs (ListObjectsV2, a request per up to 1,000
//     keys) and sends HEADs, at most 16 at a time, for the rest; the
//     threshold and its reasons are at listMinRefs.
//   - Refused credentials (HTTP 401/403, AccessDenied,
//     InvalidAccessKeyId, SignatureDoesNotMatch, expired tokens) are a
//     [*cache.RemoteAuthError] that names the remote and says what to
//     check; other errors name the operation and the object key.
//   - Connections time out after 10 s, response headers after 60 s; a
//     failed request is tried at most 3 times in all (minio-go's backoff).
//     There is no circuit breaker here: the caller decides when a remote
//     is down.
//
// # What is verified here, and what is not
//
//   - Sizes are: Missing counts an object of another size as missing, and
//     Get returns a miss for one (a truncated or padded upload).
//   - Action entries are: a damaged, truncated or foreign entry (another
//     key's, another format) decodes to nothing and GetAction returns a
//     miss, wrapping [cache.ErrRemoteMiss], with the reason.
//   - Blob contents are not: Get returns an object's bytes as they are,
//     and the store hashes them before it uses them. Nor does an action
//     entry's presence say its blobs exist; the store asks Missing.
package s3
