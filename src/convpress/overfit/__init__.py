"""The overfitted per-image codec (Cool-chic / C3 style); the codec interface is :mod:`convpress.codecs.overfit`.

- :mod:`~convpress.overfit.latents`: multi-resolution latent grids, quantization proxies, upsampling;
- :mod:`~convpress.overfit.arm`: the autoregressive probability model and the row-by-row latent coding;
- :mod:`~convpress.overfit.synthesis`: the synthesis CNN;
- :mod:`~convpress.overfit.laplace`: the integer Laplace table family every symbol is coded with;
- :mod:`~convpress.overfit.fixedpoint`: the integer arithmetic that makes decoding bit-exact;
- :mod:`~convpress.overfit.encoder`: optimization and parameter quantization;
- :mod:`~convpress.overfit.prior`: the encoder's starting networks, trained on many images and shipped;
- :mod:`~convpress.overfit.bitstream` and :mod:`~convpress.overfit.decoder`: the streams and the decoder.

``docs/overfit.md`` describes the method, the streams and the measured speed/rate trade.
"""
