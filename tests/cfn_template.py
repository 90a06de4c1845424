"""template.yaml as the tests read it: the short intrinsic tags, and a small intrinsic evaluator.

``resolve`` evaluates the intrinsics the template uses (Ref, Sub, Join, Split, Select,
FindInMap, GetAtt of the resources the dashboard names) with parameters at their defaults or at
the values a test gives, the pseudo parameters of one account in us-east-1, ``Ref`` of a
function resource as its FunctionName and ``GetAtt`` of a queue's QueueName as the name it
declares (what CloudFormation returns).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
PSEUDO = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}


class CloudFormationLoader(yaml.SafeLoader):
    """YAML with the short intrinsic tags (!Ref, !Sub, !If...) read as their long form."""


def _construct_tag(loader: CloudFormationLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=CloudFormationLoader)  # a SafeLoader subclass
    return loaded


def default(template: dict[str, Any], parameter: str) -> Any:
    return template["Parameters"][parameter]["Default"]


def resolve(value: Any, template: dict[str, Any], parameters: dict[str, str] | None = None) -> Any:
    """Evaluate the few intrinsics the checks need."""
    parameters = parameters or {}
    if isinstance(value, list):
        return [resolve(item, template, parameters) for item in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        name = value["Ref"]
        if name in PSEUDO:
            return PSEUDO[name]
        if name in parameters:
            return parameters[name]
        if name in template["Parameters"]:
            return str(default(template, name))
        resource = template["Resources"].get(name, {})
        if resource.get("Type") == "AWS::Serverless::Function":
            return resolve(resource["Properties"]["FunctionName"], template, parameters)
        return f"<{name}>"
    if "Fn::GetAtt" in value:
        name, attribute = value["Fn::GetAtt"]
        properties = template["Resources"].get(name, {}).get("Properties", {})
        if attribute == "QueueName" and "QueueName" in properties:  # an SQS queue's own name
            return resolve(properties["QueueName"], template, parameters)
        return f"<{name}.{attribute}>"
    if "Fn::Split" in value:
        separator, text = value["Fn::Split"]
        return resolve(text, template, parameters).split(separator)
    if "Fn::Select" in value:
        index, items = value["Fn::Select"]
        return resolve(items, template, parameters)[int(index)]
    if "Fn::Join" in value:
        separator, items = value["Fn::Join"]
        if isinstance(items, dict):  # an intrinsic that gives the list (Fn::Split...)
            items = resolve(items, template, parameters)
        return separator.join(resolve(item, template, parameters) for item in items)
    if "Fn::Sub" in value:
        spec = value["Fn::Sub"]
        text, variables = (spec, {}) if isinstance(spec, str) else spec
        local = {k: resolve(v, template, parameters) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return str(local[name])
            if "." in name:
                return str(resolve({"Fn::GetAtt": name.split(".", 1)}, template, parameters))
            return str(resolve({"Ref": name}, template, parameters))

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)
    if "Fn::FindInMap" in value:
        table, key, attribute = (resolve(v, template, parameters) for v in value["Fn::FindInMap"])
        return template["Mappings"][table][key][attribute]
    return value


def create_table_from_template(dynamodb: Any, resource: str, template: dict[str, Any] | None = None) -> str:
    """The template's ``AWS::DynamoDB::Table`` ``resource`` in (moto's) DynamoDB, from its own key
    schema, billing mode and TTL attribute; its name."""
    template = template or load_template()
    table = template["Resources"][resource]["Properties"]
    name = str(resolve(table["TableName"], template))
    dynamodb.create_table(
        TableName=name,
        BillingMode=table["BillingMode"],
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
    )
    ttl = table["TimeToLiveSpecification"]
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]}
    )
    return name
