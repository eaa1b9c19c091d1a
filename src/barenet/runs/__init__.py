"""The run library: what a training run is made of, shared by every way of starting one.

A *run* is a resolved configuration (:mod:`.config`, read from TOML by :mod:`.toml_files`), the
data it names (:mod:`.data_sources`, :mod:`.model_data`), the network it describes
(:mod:`.architectures`), the training itself (:mod:`.training_run`), and the folder it leaves
behind (:mod:`.run_folders`) with its pictures (:mod:`.plots`, :mod:`.conv_plots`). Digit images
from files and drawings are read by :mod:`.images`.

The command line (``barenet.cli``), the web page (``barenet.serve``) and the sweeps
(``barenet.sweep``) all stand on this package; it imports none of them.
"""
