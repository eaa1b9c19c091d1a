"""The run library: what a training run is made of, shared by ``barenet train``, ``barenet
serve`` and ``barenet sweep`` (which sit on top of it; it imports none of them).

    config.py         RunConfig: every setting, its defaults, the checks, reading TOML files
    recipe.py         prepare_run: a resolved configuration -> data and a model-ready run
    training_run.py   train_run: a prepared run -> a run folder (model, config, history, plots)
    architectures.py  mlp, lenet5, cnn and [[layers]] tables from a configuration
    data_sources.py   data sets by name: mnist, ..., csv:PATH, npz:PATH, tinyshakespeare, text:PATH
    model_data.py     what a model carries from its data: scaling, target scaling, metadata
    run_folders.py    run folders: locking, overwriting, the stored configuration
    toml_files.py     reading and writing TOML files safely
    images.py         digit photos to 28x28 MNIST-style pixels
    plots.py          learning curves, confusion matrices, image grids
    conv_plots.py     convolution filters and feature maps
    text_settings.py  text runs: the baby-GPT and char-LSTM recipes, what text refuses
    text_data.py      a text split by position: training windows, fixed validation windows
    text_run.py       text runs: the model, samples at each evaluation, scores, pictures
    text_plots.py     loss against optimiser steps, every attention head on one window
"""
