"""``barenet serve``: a web page to draw a digit on and watch the network decide, layer by layer;
for a text model, a page to write with it and watch its attention heads.

The server is an optional extra (``pip install barenet[serve]``: Starlette on uvicorn, two
small, well-kept packages that do nothing but ASGI routing and HTTP). Only the command line
imports this package (to register ``serve``), and importing it imports no web framework:

    served.py    the model (or run folder) being served: class names, curves, confusion matrix
    inputs.py    request bodies -> the 28x28 row the network sees (barenet's MNIST recipe)
    explain.py   per-layer activations and the saliency map, from barenet's own backward pass
    app.py       the Starlette application: routes, body limit, JSON errors
    text_app.py  a text model's routes instead: streamed generation, attention, next characters
    text_inputs.py  its JSON requests, checked against the vocabulary and the limits
    command.py   the options of ``barenet serve`` (add_arguments) and the command (run), which
                 imports the web framework only when it runs
    static/      the pages (digits: index.html, paint.js, png.js, app.js; text: text.html, text.js):
                 plain HTML, CSS and JavaScript, no build step, no CDN
"""
