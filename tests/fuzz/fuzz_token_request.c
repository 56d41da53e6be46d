/*
 * libFuzzer target: the tokenize request parser (vault_parse_token_request_at,
 * vault/tokens/vault_card.h) on arbitrary bytes parsed as JSON the way vaultd does
 * (jansson, duplicates rejected). Built with clang
 * -fsanitize=fuzzer,address,undefined (make fuzz); run briefly by make check
 * with the seed corpus tests/fuzz/corpus/.
 *
 * Beyond "no crash, no leak, no UB" it checks the parser's contract:
 * - success: a 12..19 digit PAN passing its brand's rules in guarded memory, last4 its
 *   last four, month 1..12, CVC 3 or 4 digits when present;
 * - failure: a code from the documented list, and a param that never
 *   contains a submitted value longer than a short key name (errors never
 *   echo input: a rejected field may be a card number).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "vault/tokens/vault_card.h"

static const char *const codes[] = {
	"parameter_missing", "parameter_invalid_type", "parameter_unknown", "incorrect_number",
	"invalid_expiry_month", "invalid_expiry_year", "expired_card", "invalid_cvc",
	"invalid_token_format", "invalid_expires_at", "api_error", NULL,
};

static int known_code(const char *c)
{
	size_t i;

	for (i = 0; c != NULL && codes[i] != NULL; i++) {
		if (strcmp(c, codes[i]) == 0)
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vault_card_input in;
	const char *code = NULL;
	const char *param = NULL;
	json_error_t err;
	json_t *j = NULL;
	size_t i;
	int rc;

	static int init;
	if (!init) {
		if (sodium_init() < 0)
			abort();
		init = 1;
	}
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
	rc = vault_parse_token_request_at(j, 1700000000, &in, &code, &param);
	if (rc == 0) {
		/* Luhn holds for every brand but UnionPay (vault_card.c's table). */
		if (in.pan == NULL || in.pan_len < VAULT_PAN_MIN || in.pan_len > VAULT_PAN_MAX ||
		    strlen(in.pan) != in.pan_len ||
		    !vault_card_number_ok(in.pan, in.pan_len, NULL) ||
		    (in.brand != VAULT_BRAND_UNIONPAY && !vault_luhn_valid(in.pan, in.pan_len)) ||
		    memcmp(in.last4, in.pan + in.pan_len - 4, 4) != 0 || in.exp_month < 1 ||
		    in.exp_month > 12 || code != NULL || param != NULL)
			abort();
		if (in.cvc != NULL && (in.cvc_len < 3 || in.cvc_len > 4))
			abort();
		for (i = 0; i < in.pan_len; i++) {
			if (in.pan[i] < '0' || in.pan[i] > '9')
				abort();
		}
	} else {
		if (!known_code(code))
			abort();
		if (param != NULL && strlen(param) > 40)
			abort();
		/* a rejected card number never comes back in param */
		if (param != NULL && strspn(param, "0123456789") >= 6)
			abort();
	}
	vault_card_input_free(&in);
	json_decref(j);
	return 0;
}
