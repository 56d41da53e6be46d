/*
 * vaultctl: split-knowledge backup and restore of the data keys
 * (ADR 0073, 0104): keys backup, keys restore.
 */
#include "vault/ctl/vaultctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Write doc to path, mode 0600, refusing to overwrite. 0 or -1 (message printed). */
static int write_json_excl(const char *path, const json_t *doc)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0) {
		fprintf(stderr, "vaultctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = json_dumpfd(doc, fd, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (rc == 0)
		rc = write(fd, "\n", 1) == 1 ? 0 : -1;
	if (rc == 0)
		rc = fsync(fd);
	close(fd);
	if (rc != 0)
		fprintf(stderr, "vaultctl: %s: write failed\n", path);
	return rc;
}

static int component_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/component-%s.json", dir, name);

	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/*
 * keys backup LABEL...: the named data keys exported only wrapped under
 * C(N,M) transport keys that exist only as components and that the Security
 * Officer marks CKA_TRUSTED (PCI DSS v4.0 3.6.1.2, 3.7.2, 3.7.6; ADR 0104).
 */
int cmd_keys_backup(const struct opts *o, const char *const *labels, size_t nlabels)
{
	struct hsm_backup_holder hd[HSM_BACKUP_MAX_HOLDERS];
	json_t *comp[HSM_BACKUP_MAX_HOLDERS] = { NULL };
	json_t *backup = NULL, *k = NULL, *set = NULL, *jl = NULL;
	struct hsm_backup_spec spec = { labels, nlabels, o->so_pin_file, o->pin_file };
	struct hsm *h = NULL;
	char err[512] = "", path[1024], sha[65];
	size_t i, j;
	bool auth = false;
	int r, ret = EXIT_OP;

	if (o->out == NULL || o->comp_dir == NULL || o->quorum < 2 || o->holders < o->quorum ||
	    o->holders > HSM_BACKUP_MAX_HOLDERS || nlabels == 0) {
		fprintf(stderr, "vaultctl: keys backup needs --out FILE --component-dir DIR "
		        "--quorum M --holders N (2 <= M <= N <= %d) and the labels of the keys "
		        "to back up\n", HSM_BACKUP_MAX_HOLDERS);
		return EXIT_USAGE;
	}
	for (i = 0; i < nlabels; i++) {
		if (!data_key_label_ok(labels[i])) {
			fprintf(stderr, "vaultctl: keys backup: key %zu is not a data key label "
			        "(pan-enc-vN, fp-hmac-vN or audit-hmac-vN)\n", i + 1);
			return EXIT_USAGE;
		}
	}
	if (hsm_open(o->module, o->label, o->pin_file, 2, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: %s\n", err);
		goto out;
	}
	jl = json_array();
	for (i = 0; i < nlabels; i++)
		json_array_append_new(jl, json_string(labels[i]));
	r = quorum(h, o, "backup-requested",
	           json_pack("{s:I, s:I, s:s, s:o}", "m", (json_int_t)o->quorum, "n",
	                     (json_int_t)o->holders, "out", o->out, "keys", jl), o->holders, hd);
	auth = true;
	if (r != EXIT_OK) {
		ret = r;
		goto out;
	}
	if (hsm_backup_create(h, &spec, hd, o->holders, o->quorum, &backup, comp, err,
	                      sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: keys backup: %s\n", err);
		(void)record(h, o, o->master, "ceremony-master", "backup-failed",
		             json_pack("{s:s}", "reason", err));
		goto out;
	}
	for (i = 0; i < o->holders; i++) {
		if (component_path(path, sizeof path, o->comp_dir, hd[i].name) != 0 ||
		    write_json_excl(path, comp[i]) != 0)
			goto out;
		/* The component's KCVs and its file's SHA-256 go on the record; its
		 * value never does. */
		if (file_sha256(path, sha) != 0 ||
		    record(h, o, hd[i].name, "custodian", "components-issued",
		           json_pack("{s:s, s:O, s:s, s:s}", "backup_id",
		                     json_string_value(json_object_get(backup, "backup_id")),
		                     "components", json_object_get(comp[i], "components"), "sealed",
		                     "XChaCha20-Poly1305 under Argon2id(custodian passphrase)",
		                     "file_sha256", sha)) != 0)
			goto out;
		printf("components for %s written to %s:", hd[i].name, path);
		json_array_foreach(json_object_get(comp[i], "components"), j, set)
			printf(" set %lld #%lld kcv=%s",
			       (long long)json_integer_value(json_object_get(set, "set")),
			       (long long)json_integer_value(json_object_get(set, "index")),
			       json_string_value(json_object_get(set, "kcv")));
		printf("\n");
	}
	json_array_foreach(json_object_get(backup, "sets"), j, set) {
		if (record(h, o, o->master, "ceremony-master", "transport-key-combined",
		           json_pack("{s:O, s:O, s:O, s:s, s:s, s:s}", "set",
		                     json_object_get(set, "set"), "custodians",
		                     json_object_get(set, "custodians"), "component_kcvs",
		                     json_object_get(set, "component_kcvs"), "kcv",
		                     json_string_value(json_object_get(set, "transport_kcv")),
		                     "mechanism", "CKM_AES_ECB_ENCRYPT_DATA chain (ADR 0073)",
		                     "trusted", "CKA_TRUSTED set by the Security Officer "
		                     "(ADR 0104)")) != 0)
			goto out;
	}
	json_array_foreach(json_object_get(backup, "keys"), j, k) {
		if (record(h, o, o->master, "ceremony-master", "key-exported-wrapped",
		           json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:s, s:I}", "label",
		                     json_object_get(k, "label"), "key_type",
		                     json_object_get(k, "key_type"), "version",
		                     json_object_get(k, "version"), "bits", json_object_get(k, "bits"),
		                     "attributes", json_object_get(k, "attributes"), "kcv",
		                     json_object_get(k, "kcv"), "mechanism",
		                     "CKM_AES_KEY_WRAP_PAD (RFC 5649)", "sets",
		                     (json_int_t)json_array_size(json_object_get(backup, "sets")))) != 0)
			goto out;
		printf("%s kcv=%s bits=%lld wrapped\n", json_string_value(json_object_get(k, "label")),
		       json_string_value(json_object_get(k, "kcv")),
		       (long long)json_integer_value(json_object_get(k, "bits")));
	}
	/* ADR 0117: the backup file's SHA-256, computed here, identifies it on the record. */
	if (write_json_excl(o->out, backup) != 0 || file_sha256(o->out, sha) != 0)
		goto out;
	if (record(h, o, o->master, "ceremony-master", "backup-completed",
	           json_pack("{s:O, s:s, s:s, s:I, s:I}", "backup_id",
	                     json_object_get(backup, "backup_id"), "file", o->out, "backup_sha256",
	                     sha, "m", (json_int_t)o->quorum, "n", (json_int_t)o->holders)) != 0)
		goto out;
	printf("backup file SHA-256 %s\n", sha);
	printf("backup %s written to %s (%zu of %zu custodians restore it)\n",
	       json_string_value(json_object_get(backup, "backup_id")), o->out, o->quorum,
	       o->holders);
	ret = EXIT_OK;
out:
	if (auth)
		quorum_free(hd, o->holders);
	for (i = 0; i < HSM_BACKUP_MAX_HOLDERS; i++)
		json_decref(comp[i]);
	json_decref(backup);
	hsm_close(h);
	return ret;
}

/* keys restore: into a fresh token, with M custodians and their components. */
int cmd_keys_restore(const struct opts *o)
{
	struct hsm_backup_holder hd[HSM_BACKUP_MAX_HOLDERS];
	json_t *comp[HSM_BACKUP_MAX_HOLDERS] = { NULL };
	json_t *backup = NULL, *restored = NULL, *k = NULL;
	json_error_t jerr;
	struct hsm *h = NULL;
	char err[512] = "", path[1024], serial[17], sha[65];
	json_int_t m = 0;
	size_t i, need = 0;
	bool auth = false;
	int r, ret = EXIT_OP;

	if (o->in == NULL || o->comp_dir == NULL) {
		fprintf(stderr, "vaultctl: keys restore needs --in FILE --component-dir DIR\n");
		return EXIT_USAGE;
	}
	backup = json_load_file(o->in, JSON_REJECT_DUPLICATES, &jerr);
	if (json_unpack(backup, "{s:I}", "m", &m) != 0 || m < 2 || m > HSM_BACKUP_MAX_HOLDERS) {
		fprintf(stderr, "vaultctl: %s: not a key backup file\n", o->in);
		goto out;
	}
	need = (size_t)m;
	if (hsm_open(o->module, o->label, o->pin_file, 2, &h, err, sizeof(err)) != 0 ||
	    hsm_token_serial(h, serial, err, sizeof(err)) != 0) {
		fprintf(stderr, "vaultctl: %s\n", err);
		goto out;
	}
	r = quorum(h, o, "restore-requested",
	           json_pack("{s:O, s:s, s:I}", "backup_id", json_object_get(backup, "backup_id"),
	                     "file", o->in, "m", m), need, hd);
	auth = true;
	if (r != EXIT_OK) {
		ret = r;
		goto out;
	}
	for (i = 0; i < need; i++) {
		if (component_path(path, sizeof path, o->comp_dir, hd[i].name) != 0 ||
		    (comp[i] = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
			fprintf(stderr, "vaultctl: %s's component file: %s\n", hd[i].name, jerr.text);
			goto out;
		}
	}
	r = hsm_backup_restore(h, backup, hd, (const json_t *const *)comp, need, &restored, err,
	                       sizeof(err));
	if (r != 0) {
		fprintf(stderr, "vaultctl: keys restore: %s\n", err);
		(void)record(h, o, o->master, "ceremony-master", "restore-refused",
		             json_pack("{s:s}", "reason", err));
		ret = r > 0 ? EXIT_REFUSED : EXIT_OP;
		goto out;
	}
	json_array_foreach(restored, i, k) {
		if (record(h, o, o->master, "ceremony-master", "key-restored",
		           json_pack("{s:O, s:O, s:O, s:O, s:s, s:O}", "label",
		                     json_object_get(k, "label"), "key_type",
		                     json_object_get(k, "key_type"), "bits", json_object_get(k, "bits"),
		                     "kcv", json_object_get(k, "kcv"), "mechanism",
		                     "CKM_AES_KEY_WRAP_PAD (RFC 5649) unwrap", "attributes",
		                     json_object_get(k, "attributes"))) != 0)
			goto out;
		printf("%s kcv=%s bits=%lld extractable=%d wrap_with_trusted=%d restored\n",
		       json_string_value(json_object_get(k, "label")),
		       json_string_value(json_object_get(k, "kcv")),
		       (long long)json_integer_value(json_object_get(k, "bits")),
		       json_is_true(json_object_get(json_object_get(k, "attributes"), "extractable")),
		       json_is_true(json_object_get(json_object_get(k, "attributes"),
		                                    "wrap_with_trusted")));
	}
	if (file_sha256(o->in, sha) != 0 ||
	    record(h, o, o->master, "ceremony-master", "restore-completed",
	           json_pack("{s:O, s:s, s:I}", "backup_id", json_object_get(backup, "backup_id"),
	                     "backup_sha256", sha, "keys", (json_int_t)json_array_size(restored))) != 0)
		goto out;
	printf("restored %zu keys into token '%s' (hsm_serial=%s)\n", json_array_size(restored),
	       o->label, serial);
	ret = EXIT_OK;
out:
	if (auth)
		quorum_free(hd, need);
	for (i = 0; i < HSM_BACKUP_MAX_HOLDERS; i++)
		json_decref(comp[i]);
	json_decref(restored);
	json_decref(backup);
	hsm_close(h);
	return ret;
}
