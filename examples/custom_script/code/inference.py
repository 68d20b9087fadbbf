"""Example custom inference script for the Hugging Face inference toolkit.

The toolkit calls ``model_fn`` once at start-up and ``predict_fn`` per request (the default
``input_fn``/``output_fn`` decode and encode JSON).
"""

from transformers import pipeline


def model_fn(model_dir, context=None):
    # For a Hub model, HF_MODEL_ID names the model and the toolkit has downloaded it to model_dir.
    return pipeline("text-classification", model=model_dir)


def predict_fn(data, model, context=None):
    inputs = data.pop("inputs", data)
    parameters = data.pop("parameters", {}) or {}
    predictions = model(inputs, **parameters)
    # Add a human-friendly verdict next to the raw pipeline output.
    return [
        {**prediction, "verdict": "positive" if prediction["label"].upper().startswith("POS") else "negative"}
        for prediction in predictions
    ]
