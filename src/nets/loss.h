/* loss.h — losses on a batch of network outputs, each returning the loss and dLoss/dY.
 *
 * Reductions follow PyTorch's defaults ("mean"), so a gradient written here can be passed to
 * nn_mlp_backward as is. The loss value is accumulated in double.
 */
#ifndef CEMRL_NETS_LOSS_H
#define CEMRL_NETS_LOSS_H

/* Mean squared error over batch·dim elements (F.mse_loss): returns mean((y − t)²) and, when dy
 * is not NULL, writes dy = 2(y − t)/(batch·dim). y, t, dy are (batch, dim); dy may alias y. */
double nn_loss_mse(const float *y, const float *t, int batch, int dim, float *dy);

/* Softmax cross-entropy with integer labels in [0, classes), mean over the batch
 * (F.cross_entropy): returns mean(logsumexp(z) − z[label]) and, when dz is not NULL, writes
 * dz = (softmax(z) − onehot(label))/batch. Max-subtracted, so large logits do not overflow.
 * z, dz are (batch, classes); dz may alias z. A label out of range is a programming error. */
double nn_loss_softmax_xent(const float *z, const int *labels, int batch, int classes, float *dz);

#endif
