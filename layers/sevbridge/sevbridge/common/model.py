"""The base of every sevbridge pydantic model.

`defer_build`: pydantic builds a model's validator and serializer when the model is first used, not
when its class is defined. A function defines ~70 models on import but a request or a message uses a
handful, so building all of them up front was the largest part of the api's cold start (issue 10 §4;
`make bench` measures it). Behaviour is the same; a model's first use pays for its own build.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
