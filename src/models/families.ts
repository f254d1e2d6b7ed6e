// Every supported model_type registers itself on import.
import './llama/index.js';
import './opt/index.js';
import './gpt2/index.js';
import './phi3/index.js';
import './gemma/index.js';
