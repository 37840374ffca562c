"""A Keras training script's losses and metrics, as kinks reads them (never imported or run)."""

import tensorflow as tf
from tensorflow.keras import backend as K


def mae_loss(y_true, y_pred):
    return K.mean(tf.abs(y_true - y_pred))


def log_cosh_loss(y_true, y_pred):
    x = y_pred - y_true
    return K.mean(x + tf.math.softplus(-2.0 * x) - tf.math.log(2.0))


def f1_metric(y_true, y_pred):
    tp = K.sum(K.round(y_true * y_pred))
    return 2 * tp / (K.sum(K.round(y_true)) + K.sum(K.round(y_pred)) + K.epsilon())


def dice_loss(y_true, y_pred, smooth=1.0):
    intersection = K.sum(y_true * y_pred)
    return 1 - (2.0 * intersection + smooth) / (K.sum(y_true) + K.sum(y_pred) + smooth)
