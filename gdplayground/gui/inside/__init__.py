"""The Inside tab: the network of 2-D data (network_diagram), the errors and explanations of
image data (images: confusion matrix, misclassified, saliency, drawing, fixed digits) and
each layer's distributions."""
