# dt-predict / dt-eval targets (issue 8)
.PHONY: bench-predict bench-predict-quick test-predict
bench-predict: install
	nice $(BIN)/python bench/predict.py

bench-predict-quick: install
	nice $(BIN)/python bench/predict.py --cts 200000

test-predict: install
	$(BIN)/python -m pytest -q tests/test_predict.py tests/test_eval.py tests/test_metrics.py
