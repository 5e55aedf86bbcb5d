/* How the apf command reaches the cloud half: over HTTP to an apf-server
 * (libcurl), or in-process through the very same request handler
 * (service_handle) when no server is given. Either way only the gradient
 * blob goes in and only the noise blob comes back. */
#ifndef APF_CLOUD_CLIENT_H
#define APF_CLOUD_CLIENT_H

#include <stddef.h>

typedef struct cloud_client cloud_client;

/* In-process: load the networks here. */
cloud_client *cloud_client_local(const char *transfer_path, const char *enhancer_path, int threads,
                                 char *err, size_t err_size);
/* Remote: base URL like http://127.0.0.1:8750; timeout in seconds. */
cloud_client *cloud_client_remote(const char *url, long timeout, char *err, size_t err_size);
void cloud_client_free(cloud_client *c);

/* The one-time sign pad (docs/threat-model.md): when the server computes
 * s = eps * g (it says "transfer=identity enhancer=none" on /health), the
 * gradient is sent with every value's sign flipped by a fresh random bit
 * and the answer unflipped, so the server learns nothing of the face.
 * AUTO pads exactly when the server announces that; ON fails (-1, message
 * in err) when it does not; OFF sends g itself. No effect in-process. */
enum { CLOUD_PAD_OFF, CLOUD_PAD_AUTO, CLOUD_PAD_ON };
int cloud_client_set_pad(cloud_client *c, int mode, char *err, size_t err_size);
/* Whether requests are padded. */
int cloud_client_padded(const cloud_client *c);

/* Send a gradient blob, receive a noise blob (malloc'd). 0 on success;
 * otherwise -1 with a message in err. */
int cloud_client_filter(cloud_client *c, const void *g, size_t g_size, void **s, size_t *s_size,
                        char *err, size_t err_size);

/* Attempts repeated so far: a remote call that fails in a way a retry may
 * cure (connection refused or reset, no answer, a timeout, 502/503/504/429)
 * is retried with exponential backoff and jitter until its deadline, the
 * timeout given to cloud_client_remote(). */
unsigned cloud_client_retries(const cloud_client *c);

/* Bytes sent to the cloud so far (request bodies only). */
size_t cloud_client_bytes_sent(const cloud_client *c);

#endif
