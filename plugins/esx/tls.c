/* Certificate checks during the TLS handshake (libcurl's OpenSSL
 * backend hands us its SSL_CTX).  Verification by CA is libcurl's own;
 * here we only record the peer certificate's SHA-256 thumbprint (for
 * messages: the user can pin exactly what the host showed) and, when a
 * thumbprint is pinned, accept that certificate and nothing else, before
 * a single byte of the request (credentials included) is sent. */
#include "esx.h"
#include "esx_tls.h"

#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static int conn_index = -1;

static int verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    esx_conn *c = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), conn_index) : NULL;
    X509 *cert = X509_STORE_CTX_get_current_cert(store);

    /* a pin trusts the leaf alone; tls_verify = false trusts anything */
    int trusted = c && (c->pin_len || !c->tls_verify) ? 1 : preverify_ok;
    if (!c || X509_STORE_CTX_get_error_depth(store) != 0)
        return trusted;
    unsigned char sha256[EVP_MAX_MD_SIZE], sha1[EVP_MAX_MD_SIZE];
    unsigned n256 = 0, n1 = 0;
    if (!cert || !X509_digest(cert, EVP_sha256(), sha256, &n256) ||
        !X509_digest(cert, EVP_sha1(), sha1, &n1))
        return 0;
    esx_thumbprint_format(sha256, (int)n256, c->seen_thumbprint);
    if (!c->pin_len)
        return trusted;
    const unsigned char *got = c->pin_len == 32 ? sha256 : sha1;
    c->pin_mismatch = memcmp(got, c->pin, (size_t)c->pin_len) != 0;
    return !c->pin_mismatch;
}

static CURLcode ctx_cb(CURL *curl, void *sslctx, void *arg)
{
    (void)curl;
    SSL_CTX *ctx = sslctx;
    esx_conn *c = arg;
    if (conn_index < 0 || !SSL_CTX_set_ex_data(ctx, conn_index, c))
        return CURLE_SSL_CERTPROBLEM;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
    return CURLE_OK;
}

int esx_tls_setup(esx_conn *c, void *curl)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

    if (!v->ssl_version || strncmp(v->ssl_version, "OpenSSL", 7) != 0) {
        if (c->pin_len)
            return esx_error(c, SB_ERR_CONFIG,
                             "esx: thumbprint pinning needs libcurl built with OpenSSL; this "
                             "libcurl uses %s",
                             v->ssl_version ? v->ssl_version : "no TLS library");
        return 0; /* CA verification still works; messages lack the thumbprint */
    }
    if (conn_index < 0)
        conn_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (conn_index < 0)
        return esx_error(c, SB_ERR_INTERNAL_ERROR, "esx: OpenSSL refused an ex_data index");
    if (curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, ctx_cb) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, c) != CURLE_OK)
        return esx_error(c, SB_ERR_CONFIG,
                         "esx: this libcurl cannot check certificates during the handshake");
    return 0;
}
