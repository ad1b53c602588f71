#ifndef AUDIT_VERIFY_H
#define AUDIT_VERIFY_H

/* Verifying the audit log's hash chain in one pass, line by line, over a
   sequence of files (rotated files, oldest first) as one chain, in
   bounded memory: nothing but the last hash is kept.

   Each file must begin with a start record (or, for the oldest file, a
   record linked to the genesis); the first record of every later file
   must link to the last record of the file before it, else a file (or
   the records at the end of the previous one) is missing. */

struct stepup_audit_verify;

/* anchor: a record hash that must be found in the chain (NULL: none) */
struct stepup_audit_verify *stepup_audit_verify_init(const char *anchor);
void stepup_audit_verify_deinit(struct stepup_audit_verify **verify);

/* The next file of the sequence begins. */
void stepup_audit_verify_next_file(struct stepup_audit_verify *verify,
				   const char *name);
/* One line (without its newline). Returns 0 if it is an intact record
   that continues the chain, 1 if it is a record the chain already has
   (repeated by a start record after copytruncate); -1 with error_r
   ("FILE line N: ...") otherwise. After an error the chain goes on from this line's hash
   (so a report can go on), but the verifier stays failed. */
int stepup_audit_verify_line(struct stepup_audit_verify *verify,
			     const char *line, size_t len,
			     const char **error_r);
/* The file ended with a partial line (a writer died mid-line, or the
   file was cut). */
void stepup_audit_verify_partial(struct stepup_audit_verify *verify,
				 const char **error_r);
/* The chain must contain this hash too (the head file's). */
void stepup_audit_verify_expect(struct stepup_audit_verify *verify,
				const char *hash, const char *what);
/* After the last file: 0 if everything was intact and every expected
   hash was found; -1 with error_r (the first problem) otherwise. */
int stepup_audit_verify_finish(struct stepup_audit_verify *verify,
			       const char **error_r);

/* intact records before the first problem */
unsigned int stepup_audit_verify_records(const struct stepup_audit_verify *verify);
/* whether the chain begins at the start of the log (genesis) */
bool stepup_audit_verify_from_genesis(const struct stepup_audit_verify *verify);
/* the last intact hash (the genesis if none) */
const char *stepup_audit_verify_last_hash(const struct stepup_audit_verify *verify);
/* where the anchor was found: "FILE line N", NULL if it was not */
const char *stepup_audit_verify_anchor_at(const struct stepup_audit_verify *verify);

/* Read the files in order through verify, calling callback (if not NULL)
   for every line with the result of its verification and where it is;
   lines a later file repeats from the file before it are not passed
   again. callback returns -1 to stop. -1 with error_r if a file cannot be read (and the
   verification is then incomplete). */
typedef int stepup_audit_line_callback_t(const char *line, bool intact,
					 const char *file, unsigned int lineno,
					 void *context);
int stepup_audit_verify_files(struct stepup_audit_verify *verify,
			      const char *const *paths,
			      stepup_audit_line_callback_t *callback,
			      void *context, const char **error_r);

/* Verify the records in buf as one file. Returns 0 if intact; -1 with
   error_r naming the first broken line ("line N: ..."). records_r is the
   number of intact records read. */
int stepup_audit_verify_buffer(const char *buf, size_t size,
			       unsigned int *records_r, const char **error_r);

/* The last complete record of the file at path: its hash and ts (for
   "stepup audit anchor"). 0 if found, -1 with error_r. */
int stepup_audit_last_record(const char *path, const char **hash_r,
			     const char **ts_r, const char **error_r);

/* The hash a head file (PATH.head) holds: 1 found, 0 no head file,
   -1 unreadable. */
int stepup_audit_read_head_file(const char *log_path, const char **hash_r,
				const char **error_r);

#endif
