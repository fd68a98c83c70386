/* fuzz_idx.c — the Fashion-MNIST IDX reader (gzip or plain) on arbitrary bytes: a file is read
 * with its sizes consistent, or refused with a message. */
#include <stdlib.h>

#include "envs/idx.h"
#include "fuzz.h"

static volatile unsigned g_sink;  /* keeps the read of every byte */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int ndim = 0; ndim <= 3; ndim += 3) {
    SupIdx x = {0};
    CoreErr err;
    core_err_clear(&err);
    if (sup_idx_parse(data, size, "<fuzz>", ndim, &x, &err) == CORE_OK) {
      size_t n = 1;
      for (int i = 0; i < x.ndim; i++) n *= x.dims[i];
      if (n != x.n_bytes || (ndim && x.ndim != ndim) || (n && !x.data)) abort();
      for (size_t i = 0; i < n; i++) g_sink += x.data[i];  /* every byte must be readable */
      sup_idx_release(&x);
    } else if (!err.msg[0]) {
      abort();
    }
  }
  return 0;
}
