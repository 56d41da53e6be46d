/*
 * bench_hsm: the HSM's limit for the tokenize path (make bench, not a test).
 * AES-256-GCM C_Encrypt of a 16-byte PAN with the vault's key pan-enc-v1
 * (hsm_aes_gcm_encrypt, the call vaultd makes), on 1 and on N threads
 * sharing one hsm pool of N sessions. Prints "hsm_gcm_ops threads=T ops_per_s=X".
 *
 *   bench_hsm MODULE LABEL PIN_FILE SECONDS MAX_THREADS
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsm/hsm.h"

static struct hsm *h;
static atomic_long ops;
static atomic_int stop;
static atomic_int failed;

static void *worker(void *arg)
{
	static const uint8_t pan[16] = "4242424242424242";
	static const uint8_t aad[] = "strongroom/pan/v1|tok_bench|mer_bench";
	uint8_t iv[HSM_GCM_IV_LEN];
	uint8_t ct[64];
	char err[256];

	(void)arg;
	while (!atomic_load(&stop)) {
		size_t ct_len = sizeof ct;

		if (hsm_aes_gcm_encrypt(h, HSM_KEY_PAN_ENC, aad, sizeof aad - 1, pan, sizeof pan, iv,
		                        ct, &ct_len, err, sizeof err) != 0) {
			fprintf(stderr, "bench_hsm: %s\n", err);
			atomic_store(&failed, 1);
			break;
		}
		atomic_fetch_add(&ops, 1);
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	pthread_t th[64];
	char err[256];
	double secs;
	int max;
	int n;
	int i;

	if (argc != 6) {
		fprintf(stderr, "usage: bench_hsm MODULE LABEL PIN_FILE SECONDS MAX_THREADS\n");
		return 2;
	}
	secs = atof(argv[4]);
	max = atoi(argv[5]);
	if (secs <= 0 || max < 1 || max > 64) {
		fprintf(stderr, "bench_hsm: bad SECONDS or MAX_THREADS\n");
		return 2;
	}
	if (hsm_open(argv[1], argv[2], argv[3], (size_t)max, &h, err, sizeof err) != 0) {
		fprintf(stderr, "bench_hsm: %s\n", err);
		return 1;
	}
	for (n = 1; n <= max; n *= 2) {
		double t0;
		double t1;

		atomic_store(&ops, 0);
		atomic_store(&stop, 0);
		t0 = now();
		for (i = 0; i < n; i++)
			pthread_create(&th[i], NULL, worker, NULL);
		while (now() - t0 < secs && !atomic_load(&failed)) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		atomic_store(&stop, 1);
		for (i = 0; i < n; i++)
			pthread_join(th[i], NULL);
		t1 = now();
		if (atomic_load(&failed))
			break;
		printf("hsm_gcm_ops threads=%d ops_per_s=%.0f\n", n, (double)atomic_load(&ops) / (t1 - t0));
		fflush(stdout);
	}
	hsm_close(h);
	return atomic_load(&failed) ? 1 : 0;
}
