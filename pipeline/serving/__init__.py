"""What other tools call: the MLflow pyfunc model (:mod:`pipeline.serving.model`), its signature
and logging (:mod:`pipeline.serving.packaging`), the REST guard (:mod:`pipeline.serving.rest`),
the ``hcc`` command line (:mod:`pipeline.serving.cli`) and the HTML report
(:mod:`pipeline.serving.report`).
"""
