"""vLLM, the server Hugging Face ships for LLMs on SageMaker: the stack (``stack``), the image's contract
(``contract``), its memory model (``memory``) and its server flags (``flags``)."""
